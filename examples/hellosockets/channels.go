package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/phxgo/phx"
)

// PingChannel is the notes' HelloSocketsWeb.PingChannel, on "ping" and
// "ping:*".
type PingChannel struct {
	// Node is reported as from_node when request_ping is intercepted
	// (Elixir's Node.self()).
	Node string
}

// Join accepts every join.
func (PingChannel) Join(ctx context.Context, s *phx.Session, topic string, p phx.Payload) (any, error) {
	return nil, nil
}

// HandleIn answers the events of the notes; any other event crashes the
// channel, as a missing handle_in clause does in Phoenix.
func (PingChannel) HandleIn(ctx context.Context, s *phx.Session, event string, p phx.Payload) (phx.Reply, error) {
	switch {
	case event == "ping":
		var in map[string]json.RawMessage
		if p.Decode(&in) == nil && in["ack_phrase"] != nil {
			return phx.ReplyOK(map[string]json.RawMessage{"ping": in["ack_phrase"]}), nil
		}
		return phx.ReplyOK(map[string]string{"ping": "pong"}), nil
	case strings.HasPrefix(event, "ping:"):
		return phx.ReplyOK(map[string]string{"ping": strings.TrimPrefix(event, "ping:")}), nil
	case event == "pong":
		return phx.NoReply, nil
	case event == "ding":
		return phx.ReplyOK(map[string]string{"msg": "shutting down"}), phx.ErrStop
	case event == "param_ping":
		var in struct{ Error json.RawMessage }
		if p.Decode(&in) == nil && string(in.Error) == "true" {
			return phx.ReplyError(map[string]string{"reason": "You asked for this!"}), nil
		}
		return phx.ReplyOK(p), nil
	}
	return phx.NoReply, fmt.Errorf("PingChannel has no handler for event %q", event)
}

// Intercepts lists request_ping, which HandleOut turns into send_ping.
func (PingChannel) Intercepts() []string { return []string{"request_ping"} }

// HandleOut pushes an intercepted request_ping as send_ping, adding from_node.
func (c PingChannel) HandleOut(ctx context.Context, s *phx.Session, event string, p phx.Payload) error {
	var out map[string]any
	if err := p.Decode(&out); err != nil {
		return err
	}
	out["from_node"] = c.Node
	return s.Push("send_ping", out)
}

// WildcardChannel is the notes' HelloSocketsWeb.WildcardChannel on "wild:*":
// it joins "wild:a:b" only when b == 2a.
type WildcardChannel struct{}

// Join refuses unless the topic is wild:a:b with b == 2a. Numbers that are
// not integers crash the join, as String.to_integer/1 raises in Phoenix.
func (WildcardChannel) Join(ctx context.Context, s *phx.Session, topic string, p phx.Payload) (any, error) {
	var nums []*big.Int
	for _, part := range strings.Split(strings.TrimPrefix(topic, "wild:"), ":") {
		n, ok := new(big.Int).SetString(part, 10)
		if !ok {
			return nil, fmt.Errorf("wild topic %q: %q is not an integer", topic, part)
		}
		nums = append(nums, n)
	}
	if len(nums) == 2 && nums[1].Cmp(new(big.Int).Lsh(nums[0], 1)) == 0 {
		return nil, nil
	}
	return nil, phx.Refuse(nil)
}

// HandleIn answers ping with pong.
func (WildcardChannel) HandleIn(ctx context.Context, s *phx.Session, event string, p phx.Payload) (phx.Reply, error) {
	if event == "ping" {
		return phx.ReplyOK(map[string]string{"ping": "pong"}), nil
	}
	return phx.NoReply, fmt.Errorf("WildcardChannel has no handler for event %q", event)
}

// RoomChannel is what `mix phx.gen.channel Room` generates, on "room:*".
type RoomChannel struct{}

// Join accepts "room:lobby" only. Any other room crashes the join, as the
// generated join/3 has no clause for it.
func (RoomChannel) Join(ctx context.Context, s *phx.Session, topic string, p phx.Payload) (any, error) {
	if topic != "room:lobby" {
		return nil, errors.New("RoomChannel joins room:lobby only")
	}
	return nil, nil
}

// HandleIn echoes "ping" and broadcasts "shout" to the room.
func (RoomChannel) HandleIn(ctx context.Context, s *phx.Session, event string, p phx.Payload) (phx.Reply, error) {
	switch event {
	case "ping":
		return phx.ReplyOK(p), nil
	case "shout":
		return phx.NoReply, s.Broadcast(ctx, "shout", p)
	}
	return phx.NoReply, fmt.Errorf("RoomChannel has no handler for event %q", event)
}
