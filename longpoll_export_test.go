package phx

import "time"

// LPLastPoll reports when a poll of the LongPoll session named by token last
// looked at its buffer (Phoenix's last_client_poll), and false when token
// names no live session of this node. Once it has moved past a time taken
// before a GET was sent, that GET is parked in the session: a test can then
// end the session and know the GET sees it.
func (s *Socket) LPLastPoll(token string) (time.Time, bool) {
	_, id, ok := s.lpVerify(token)
	if !ok {
		return time.Time{}, false
	}
	s.lpMu.Lock()
	ls := s.lpSessions[id]
	s.lpMu.Unlock()
	if ls == nil {
		return time.Time{}, false
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return ls.lastPoll, true
}
