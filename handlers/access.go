package handlers

import (
	"context"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/cases"
)

// AccessLog records who saw or took a household's data (docs/privacy.md). A view whose
// record cannot be written is not shown: the log must not miss what was seen.
type AccessLog interface {
	RecordAccesses(ctx context.Context, evs []cases.AccessEvent) error
}

// recordAccess writes evs when an access log is configured (nil in tests of single pages).
func recordAccess(ctx context.Context, l AccessLog, evs ...cases.AccessEvent) error {
	if l == nil || len(evs) == 0 {
		return nil
	}
	return l.RecordAccesses(ctx, evs)
}

// chatChannel is the access log's channel of a chat message.
func chatChannel(m bot.Message) string {
	if m.InGroup() {
		return cases.ChannelGroup
	}
	return cases.ChannelChat
}
