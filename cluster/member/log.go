package member

import (
	"bytes"
	"context"
	"log"
	"log/slog"
)

// newLogLogger adapts l to the *log.Logger memberlist wants, mapping memberlist's
// "[DEBUG]", "[INFO]", "[WARN]" and "[ERR]" prefixes to slog levels.
func newLogLogger(l *slog.Logger) *log.Logger {
	return log.New(logWriter{l}, "", 0)
}

type logWriter struct{ l *slog.Logger }

var logLevels = []struct {
	prefix []byte
	level  slog.Level
}{
	{[]byte("[DEBUG] "), slog.LevelDebug},
	{[]byte("[INFO] "), slog.LevelInfo},
	{[]byte("[WARN] "), slog.LevelWarn},
	{[]byte("[ERR] "), slog.LevelError},
	{[]byte("[ERROR] "), slog.LevelError},
}

func (w logWriter) Write(p []byte) (int, error) {
	msg := bytes.TrimRight(p, "\n")
	level := slog.LevelInfo
	for _, l := range logLevels {
		if bytes.HasPrefix(msg, l.prefix) {
			msg, level = msg[len(l.prefix):], l.level
			break
		}
	}
	if w.l.Enabled(context.Background(), level) {
		w.l.Log(context.Background(), level, string(msg), "component", "memberlist")
	}
	return len(p), nil
}
