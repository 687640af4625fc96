package tracectx

import (
	"context"
	"log/slog"
)

// LogHandler wraps h so that every record logged with a context that
// belongs to a traced request (log.ErrorContext(ctx, ...)) carries the
// request's trace root as attribute trace_root: an error in the logs leads
// straight to its trace.
func LogHandler(h slog.Handler) slog.Handler { return logHandler{h} }

type logHandler struct{ slog.Handler }

func (l logHandler) Handle(ctx context.Context, r slog.Record) error {
	if st := stateFrom(ctx); st != nil {
		r.AddAttrs(slog.String("trace_root", st.sc.TraceID.Root()))
	}
	return l.Handler.Handle(ctx, r)
}

func (l logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return logHandler{l.Handler.WithAttrs(attrs)}
}

func (l logHandler) WithGroup(name string) slog.Handler {
	return logHandler{l.Handler.WithGroup(name)}
}
