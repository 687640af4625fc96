package config

import "time"

// Log is the logging section every target has.
type Log struct {
	Level  string `yaml:"level" help:"log level: debug, info, warn or error"`
	Format string `yaml:"format" help:"log format: auto (text on a terminal, else JSON), json or text"`
}

// DefaultLog logs at info level, text on a terminal and JSON otherwise.
func DefaultLog() Log { return Log{Level: "info", Format: "auto"} }

// HTTP is the limits section every HTTP server has.
type HTTP struct {
	MaxBodyBytes      int64         `yaml:"max_body_bytes" help:"largest request body accepted, in bytes"`
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout" help:"time allowed to read request headers"`
	ReadTimeout       time.Duration `yaml:"read_timeout" help:"time allowed to read a whole request"`
	WriteTimeout      time.Duration `yaml:"write_timeout" help:"time allowed to write a response"`
	IdleTimeout       time.Duration `yaml:"idle_timeout" help:"how long an idle keep-alive connection stays open"`
	DrainTimeout      time.Duration `yaml:"drain_timeout" help:"how long in-flight requests may run after shutdown begins"`
}
