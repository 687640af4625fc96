// Package librelingo reads and writes courses in LibreLingo's formats: Load
// reads a course from its YAML source (course.yaml, module.yaml and skill
// files) into a course.Course, and Export writes the JSON that LibreLingo's
// web app reads (courseData.json and challenges/<skill>.json).
//
// Loading follows LibreLingo's current YAML loader, on a YAML 1.2 parser:
// every scalar is text (Yes, No, On and False included), a repeated mapping
// key keeps its last value, and only the modules and skills that course.yaml
// and module.yaml list belong to the course. Where LibreLingo would crash or
// silently do something surprising, owl reports a positioned error or
// warning instead; see Load. Export matches LibreLingo's exporter 0.7.0
// byte for byte on the JSON files.
package librelingo
