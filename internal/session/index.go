package session

import "github.com/owlstack/owl/internal/course/snapshot"

// loc locates a word or phrase of a compiled course.
type loc = snapshot.ItemRef

// less orders items by skill, words before phrases, then index.
func less(a, b loc) bool {
	if a.Skill != b.Skill {
		return a.Skill < b.Skill
	}
	if a.Phrase != b.Phrase {
		return !a.Phrase
	}
	return a.Index < b.Index
}
