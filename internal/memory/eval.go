package memory

import (
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"sort"
	"time"
)

// EvalOptions configure an evaluation.
type EvalOptions struct {
	// TestPercent of users (by a seeded hash of the user id) are held out;
	// default 20.
	TestPercent int
	Seed        uint64
	HLR         HLROptions
}

// EvalHLRDefaults are the HLR settings owl memory eval and train use: the
// paper's, except a larger learning rate and a smaller half-life weight α,
// which on data sets far smaller than the paper's 13 million rows keep the
// half-life term from pushing predictions to the 0.9999 clip (a large log
// loss on every miss).
var EvalHLRDefaults = HLROptions{LearningRate: 0.01, HalfLifeWt: 1e-4, L2Wt: 0.1, Sigma: 1, Epochs: 1}

// Open opens the trace file again for each pass over it.
type Open func() (io.ReadCloser, error)

// Report is the evaluation of every model on the held-out users.
type Report struct {
	TrainRows int                     `json:"train_rows"`
	TestRows  int                     `json:"test_rows"`
	Models    map[string]*ModelReport `json:"models"`
	HLR       *HLR                    `json:"hlr_weights"`
	Constant  float64                 `json:"constant_p"`
}

// ModelReport holds one model's metrics. AUC ranks rows whose answers
// were all correct (p_recall = 1) against the others.
type ModelReport struct {
	MAE         float64    `json:"mae"`
	LogLoss     float64    `json:"logloss"`
	AUC         float64    `json:"auc"`
	Calibration []CalibBin `json:"calibration"`

	n        int
	sumAbs   float64
	sumLoss  float64
	pos, neg [aucBins]float64
}

// CalibBin is one bin of predicted recall with the mean observed recall.
type CalibBin struct {
	From          float64 `json:"from"`
	To            float64 `json:"to"`
	N             int     `json:"n"`
	MeanPredicted float64 `json:"mean_predicted"`
	MeanObserved  float64 `json:"mean_observed"`
	sumPred, sumP float64
}

const aucBins = 10000

// ModelNames lists the evaluated models in report order.
var ModelNames = []string{"hlr", "fsrs", "leitner", "pimsleur", "constant"}

// TestUser reports whether a user is held out.
func (o EvalOptions) TestUser(id string) bool {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%s", o.Seed, id)
	return int(h.Sum64()%100) < o.TestPercent
}

// Evaluate trains HLR and the constant model on the training users in one
// streaming pass, then predicts every held-out row with each model in a
// second pass.
//
// FSRS consumes the rows of each (user, lexeme) pair in time order. The
// first row of a pair starts the memory state with one review at
// timestamp − delta graded from the history counts before it (all correct
// or none seen: good; at least half correct: hard; else: again); each row
// is predicted at its timestamp and then updates the state with the grade
// of its session (session_correct of session_seen, graded the same way).
// FSRS uses its default FSRS-6 parameters; it is not fitted.
func Evaluate(open Open, o EvalOptions) (*Report, error) {
	if o.TestPercent == 0 {
		o.TestPercent = 20
	}
	if o.TestPercent < 1 || o.TestPercent > 99 {
		return nil, fmt.Errorf("test share %d%%: must be between 1 and 99", o.TestPercent)
	}
	rep := &Report{Models: map[string]*ModelReport{}}
	// Pass 1: train.
	tr := newHLRTrainer()
	hlr := &HLR{}
	o.HLR = o.HLR.withDefaults()
	sumP := 0.0
	for epoch := range o.HLR.Epochs {
		err := eachRow(open, func(r Row) {
			if o.TestUser(r.UserID) {
				return
			}
			if epoch == 0 {
				rep.TrainRows++
				sumP += r.PRecall
			}
			hlr.step(Observation{Lexeme: r.LexemeID, Delta: float64(r.Delta) / 86400, Seen: r.HistorySeen, Correct: r.HistoryCorrect, P: r.PRecall}, tr, o.HLR)
		})
		if err != nil {
			return nil, err
		}
	}
	if rep.TrainRows == 0 {
		return nil, errors.New("no training rows: every user is held out")
	}
	constant := Constant{P: clamp(sumP/float64(rep.TrainRows), minRecall, maxRecall)}
	rep.HLR, rep.Constant = hlr, constant.P
	for _, name := range ModelNames {
		rep.Models[name] = &ModelReport{}
	}
	// Pass 2: predict the held-out rows.
	fsrs := NewFSRS(FSRS6Defaults)
	states := map[[2]string]State{}
	err := eachRow(open, func(r Row) {
		if !o.TestUser(r.UserID) {
			return
		}
		rep.TestRows++
		at := time.Unix(r.Timestamp, 0)
		before := State{Last: at.Add(-time.Duration(r.Delta) * time.Second), Seen: r.HistorySeen, Correct: r.HistoryCorrect}
		key := [2]string{r.UserID, r.LexemeID}
		st, ok := states[key]
		if !ok {
			st = fsrs.Update(State{}, before.Last, gradeOf(r.HistoryCorrect, r.HistorySeen))
		}
		days := float64(r.Delta) / 86400
		preds := [...]float64{
			hlr.RecallOf(r.LexemeID, days, r.HistorySeen, r.HistoryCorrect),
			fsrs.Predict(st, at),
			Leitner{}.Predict(before, at),
			Pimsleur{}.Predict(before, at),
			constant.P,
		}
		for i, name := range ModelNames {
			rep.Models[name].add(preds[i], r.PRecall)
		}
		states[key] = fsrs.Update(st, at, gradeOf(r.SessionCorrect, r.SessionSeen))
	})
	if err != nil {
		return nil, err
	}
	if rep.TestRows == 0 {
		return nil, errors.New("no held-out rows: too few users")
	}
	for _, m := range rep.Models {
		m.finish()
	}
	return rep, nil
}

// gradeOf maps a number of correct answers out of seen to an FSRS grade.
func gradeOf(correct, seen int) Grade {
	switch {
	case seen == 0 || correct == seen:
		return Good
	case 2*correct >= seen:
		return Hard
	}
	return Again
}

func (o HLROptions) withDefaults() HLROptions {
	if o.LearningRate == 0 {
		o.LearningRate = 0.001
	}
	if o.HalfLifeWt == 0 {
		o.HalfLifeWt = 0.01
	}
	if o.L2Wt == 0 {
		o.L2Wt = 0.1
	}
	if o.Sigma == 0 {
		o.Sigma = 1
	}
	if o.Epochs == 0 {
		o.Epochs = 1
	}
	return o
}

func eachRow(open Open, f func(Row)) error {
	rc, err := open()
	if err != nil {
		return err
	}
	defer rc.Close()
	tr, err := NewTraceReader(rc)
	if err != nil {
		return err
	}
	for {
		r, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		f(r)
	}
}

func (m *ModelReport) add(pred, p float64) {
	q := clamp(pred, minRecall, maxRecall)
	m.n++
	m.sumAbs += math.Abs(pred - p)
	m.sumLoss += -(p*math.Log(q) + (1-p)*math.Log(1-q))
	bin := min(int(pred*aucBins), aucBins-1)
	if p == 1 {
		m.pos[bin]++
	} else {
		m.neg[bin]++
	}
	if m.Calibration == nil {
		m.Calibration = make([]CalibBin, 10)
		for i := range m.Calibration {
			m.Calibration[i].From, m.Calibration[i].To = float64(i)/10, float64(i+1)/10
		}
	}
	c := &m.Calibration[min(int(pred*10), 9)]
	c.N++
	c.sumPred += pred
	c.sumP += p
}

func (m *ModelReport) finish() {
	if m.n == 0 {
		return
	}
	m.MAE, m.LogLoss = m.sumAbs/float64(m.n), m.sumLoss/float64(m.n)
	// AUC from the binned scores: pairs in the same bin count half.
	var negBelow, totalPos, totalNeg, auc float64
	for i := range aucBins {
		auc += m.pos[i] * (negBelow + m.neg[i]/2)
		negBelow += m.neg[i]
		totalPos += m.pos[i]
		totalNeg += m.neg[i]
	}
	if totalPos > 0 && totalNeg > 0 {
		m.AUC = auc / (totalPos * totalNeg)
	}
	for i := range m.Calibration {
		c := &m.Calibration[i]
		if c.N > 0 {
			c.MeanPredicted, c.MeanObserved = c.sumPred/float64(c.N), c.sumP/float64(c.N)
		}
	}
}

// Ranked returns the model names by log loss, best first.
func (r *Report) Ranked() []string {
	names := append([]string(nil), ModelNames...)
	sort.SliceStable(names, func(i, j int) bool { return r.Models[names[i]].LogLoss < r.Models[names[j]].LogLoss })
	return names
}

// TrainHLRFile fits HLR on every row of a trace file, streaming it once
// per epoch, and returns the model and the number of rows.
func TrainHLRFile(open Open, o HLROptions) (*HLR, int, error) {
	o = o.withDefaults()
	tr := newHLRTrainer()
	m := &HLR{}
	rows := 0
	for epoch := range o.Epochs {
		err := eachRow(open, func(r Row) {
			if epoch == 0 {
				rows++
			}
			m.step(Observation{Lexeme: r.LexemeID, Delta: float64(r.Delta) / 86400, Seen: r.HistorySeen, Correct: r.HistoryCorrect, P: r.PRecall}, tr, o)
		})
		if err != nil {
			return nil, 0, err
		}
	}
	if rows == 0 {
		return nil, 0, errors.New("no rows")
	}
	return m, rows, nil
}
