// weft-peer-go: Weft's spawn_storm shapes and echo server on goroutines (../README.md).
// Standard library only, so it builds offline with Debian's golang-go.
module weft/peer-go

go 1.19
