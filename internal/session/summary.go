package session

import (
	"strings"

	"github.com/owlstack/owl/internal/course"
)

// Prompt returns a short text that shows what a challenge asks, for
// tables and pages: the word or phrase it practises.
func Prompt(ch course.Challenge) string {
	switch c := ch.(type) {
	case *course.Cards:
		return c.FormInTargetLanguage + " = " + c.MeaningInSourceLanguage
	case *course.Options:
		return c.MeaningInSourceLanguage + " → " + c.FormInTargetLanguage
	case *course.ShortInput:
		if len(c.FormInTargetLanguage) > 0 {
			return firstWords(c.Phrase) + " → " + c.FormInTargetLanguage[0]
		}
	case *course.Listening:
		return "🔊 " + c.Answer
	case *course.Chips:
		return firstWords(c.Phrase) + " → " + c.FormattedSolution
	case *course.ReverseTranslation:
		return c.Prompt + " → " + c.FormattedSolution
	case *course.MissingWord:
		return c.Before + "___" + c.After + " (" + c.Answer + ")"
	case *course.Speaking:
		return "🎤 " + c.Phrase
	case *course.MatchPairs:
		var parts []string
		for _, p := range c.Pairs {
			parts = append(parts, p.Target+"="+p.Source)
		}
		return strings.Join(parts, ", ")
	}
	return ""
}

func firstWords(ws []course.WordDefinition) string {
	parts := make([]string, len(ws))
	for i, w := range ws {
		parts[i] = w.Word
	}
	return strings.Join(parts, " ")
}
