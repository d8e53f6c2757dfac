package bot

// Abruptly makes cancelling Run behave like a killed process: a test of crash recovery.
func (w *Worker) Abruptly() { w.abrupt = true }

// Abruptly makes cancelling Run behave like a killed process: a test of crash recovery.
func (in *Inbox) Abruptly() { in.abrupt = true }
