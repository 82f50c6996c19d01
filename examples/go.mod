module github.com/phxgo/phx/examples

go 1.26

require (
	github.com/coder/websocket v1.8.15
	github.com/phxgo/phx v0.0.0
)

replace github.com/phxgo/phx => ../
