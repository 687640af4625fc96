package session

import "github.com/owlstack/owl/internal/course/snapshot"

// loc locates a word or phrase of a compiled course.
type loc = snapshot.ItemRef
