// Package course is owl's model of a language course and the compiler logic
// that works on it: the course, its modules, skills, words, phrases and
// dictionary; validation with positioned diagnostics; and the derivation of
// every challenge of every skill.
//
// The model follows LibreLingo's course format, read by package
// course/librelingo. Derivation reproduces LibreLingo's exporter exactly for
// the five challenge types it knows (cards, options, shortInput,
// listeningExercise and chips: same ids, groups, priorities and chips) and
// adds owl's own types (reverseTranslation, missingWord, speaking and
// matchPairs). CHALLENGES.md in this folder documents the JSON shape of each
// type.
//
// Everything here is deterministic: the same course gives the same
// challenges, in the same order, with the same ids.
package course
