package phx

// FastlaneEncodes counts the broadcast encodings of the fastlane: a test
// proves one encoding per serializer per broadcast with it.
var FastlaneEncodes = &encodes

// NumClients returns how many connections the socket is serving.
func (s *Socket) NumClients() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.clients)
}
