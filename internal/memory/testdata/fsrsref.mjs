// Generates fsrs6_reference.json: the memory states that ts-fsrs (pinned
// version, see the "reference" field) computes for a set of review
// sequences with its default FSRS-6 parameters. Run it from a folder where
// `npm install ts-fsrs@5.2.3` was done:
//
//	node fsrsref.mjs > fsrs6_reference.json
import { FSRSAlgorithm, generatorParameters, default_w } from "ts-fsrs";
import { readFileSync } from "fs";

const version = JSON.parse(readFileSync("node_modules/ts-fsrs/package.json", "utf8")).version;
const alg = new FSRSAlgorithm(generatorParameters({ enable_short_term: true }));

// Each sequence is a list of [elapsed days since the previous review, grade].
const sequences = [
  [[0, 1]], [[0, 2]], [[0, 3]], [[0, 4]],
  [[0, 3], [1, 3], [3, 3], [8, 3], [21, 3], [55, 3]],
  [[0, 3], [1, 1], [1, 3], [4, 3], [10, 2], [30, 4]],
  [[0, 1], [0, 1], [0, 3], [1, 3], [2, 3], [7, 1], [1, 3]],
  [[0, 4], [10, 4], [40, 4], [150, 4], [500, 3]],
  [[0, 2], [2, 2], [2, 2], [5, 1], [1, 2], [3, 3]],
  [[0, 3], [0, 3], [0, 4], [0, 2], [1, 3]],
  [[0, 3], [100, 1], [0, 3], [1, 3], [365, 3]],
  [[0, 1], [2, 1], [2, 1], [2, 1], [2, 1]],
  [[0, 3], [0.5, 3], [1.5, 4], [2.25, 2], [6.75, 1]],
];

const out = { reference: "ts-fsrs@" + version, w: [...default_w], sequences: [] };
for (const seq of sequences) {
  let state = null;
  const steps = [];
  for (const [t, g] of seq) {
    const r = state ? alg.forgetting_curve(t, state.stability) : null;
    state = alg.next_state(state, t, g);
    steps.push({ t, grade: g, r_before: r, stability: state.stability, difficulty: state.difficulty });
  }
  out.sequences.push(steps);
}
console.log(JSON.stringify(out, null, 1));
