package cases

import "time"

// HeldFile is a department file the bot keeps for a short while: received in chat, waiting
// for the liaison to say which category it is, or for its turn to be imported. It is never
// kept longer than HeldFileTTL.
type HeldFile struct {
	ID         string // the card's task id, or the message's
	UserID     string // who sent it: only they may continue its import
	Department string
	Filename   string
	SHA256     string
	Data       []byte
	CreatedAt  time.Time
}

// HeldFileTTL is how long a held file is kept at most (spec: a day).
const HeldFileTTL = 24 * time.Hour
