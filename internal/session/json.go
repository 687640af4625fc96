package session

import (
	"encoding/json"
	"fmt"

	"github.com/owlstack/owl/internal/course"
)

// MarshalJSON writes the challenge's own JSON (CHALLENGES.md) with two more
// fields: "skill", the skill's YAML Id, and "why".
func (it Item) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(it.Challenge)
	if err != nil {
		return nil, err
	}
	out, err := appendItemJSON(nil, b, &it)
	if err != nil {
		return nil, fmt.Errorf("challenge %T did not encode as an object", it.Challenge)
	}
	return out, nil
}

// UnmarshalJSON reads what MarshalJSON writes; the reason keeps only its
// text, in Why.
func (it *Item) UnmarshalJSON(data []byte) error {
	var extra struct {
		Skill string `json:"skill"`
		Why   string `json:"why"`
	}
	if err := json.Unmarshal(data, &extra); err != nil {
		return err
	}
	ch, err := course.UnmarshalChallenge(data)
	if err != nil {
		return err
	}
	it.Challenge, it.Skill, it.Why = ch, extra.Skill, extra.Why
	return nil
}

// WhyText returns the reason as people read it: Why when the item was
// decoded from JSON, else the reason's text.
func (it *Item) WhyText() string {
	if it.Why != "" {
		return it.Why
	}
	return it.Reason.String()
}
