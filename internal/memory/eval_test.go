package memory

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func synthTraces(t *testing.T, users int) []byte {
	t.Helper()
	var buf bytes.Buffer
	n, err := Synth(&buf, SynthOptions{Users: users, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if n < users {
		t.Fatalf("%d rows for %d users", n, users)
	}
	return buf.Bytes()
}

func opener(data []byte) Open {
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
}

// TestEvalOnSyntheticTraces checks that the fitted and the FSRS models beat
// every baseline in log loss on held-out users of the synthetic ground
// truth, which is neither model's form.
func TestEvalOnSyntheticTraces(t *testing.T) {
	data := synthTraces(t, 1500)
	rep, err := Evaluate(opener(data), EvalOptions{Seed: 1, HLR: EvalHLRDefaults})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range ModelNames {
		m := rep.Models[name]
		t.Logf("%-9s mae %.4f logloss %.4f auc %.4f", name, m.MAE, m.LogLoss, m.AUC)
	}
	for _, good := range []string{"hlr", "fsrs"} {
		for _, base := range []string{"leitner", "pimsleur", "constant"} {
			if rep.Models[good].LogLoss >= rep.Models[base].LogLoss {
				t.Errorf("%s log loss %.4f does not beat %s's %.4f", good, rep.Models[good].LogLoss, base, rep.Models[base].LogLoss)
			}
		}
	}
	if rep.TestRows == 0 || rep.TrainRows < 3*rep.TestRows {
		t.Errorf("split: %d train rows, %d test rows", rep.TrainRows, rep.TestRows)
	}
	if auc := rep.Models["constant"].AUC; auc != 0.5 {
		t.Errorf("constant model AUC %v, want 0.5", auc)
	}
}

func TestSynthDeterministic(t *testing.T) {
	a, b := synthTraces(t, 50), synthTraces(t, 50)
	if !bytes.Equal(a, b) {
		t.Fatal("two runs with the same seed differ")
	}
	if head, _, _ := strings.Cut(string(a), "\n"); head != strings.Join(Columns, ",") {
		t.Errorf("header %q", head)
	}
}

func TestTraceReaderFixture(t *testing.T) {
	data := []byte("p_recall,timestamp,delta,user_id,learning_language,ui_language,lexeme_id,lexeme_string,history_seen,history_correct,session_seen,session_correct\n" +
		"1.0,1362076081,27649635,u:FO,de,en,76390c1350a8dac31186187e2fe1e178,lernt/lernen<vblex><pri><p3><sg>,2,1,2,2\n" +
		"0.5,1362076081,27649635,u:FO,de,en,7dfd7086f3671685e2cf1c1da72796d7,die/die<det><def><f><sg><nom>,2,2,2,1\n")
	tr, err := NewTraceReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	r, err := tr.Next()
	if err != nil {
		t.Fatal(err)
	}
	if r.PRecall != 1 || r.Delta != 27649635 || r.UserID != "u:FO" || r.LexemeString != "lernt/lernen<vblex><pri><p3><sg>" || r.HistorySeen != 2 || r.SessionCorrect != 2 {
		t.Errorf("row %+v", r)
	}
	if _, err := tr.Next(); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("end: %v", err)
	}
	for _, bad := range []string{
		"p_recall,timestamp\n",
		strings.Replace(string(data), "0.5,", "1.5,", 1),
		strings.Replace(string(data), ",2,1,2,2", ",1,2,2,2", 1),
	} {
		tr, err := NewTraceReader(strings.NewReader(bad))
		for err == nil {
			_, err = tr.Next()
		}
		if errors.Is(err, io.EOF) {
			t.Errorf("accepted %q", bad)
		}
	}
}

func FuzzTraceReader(f *testing.F) {
	f.Add([]byte(strings.Join(Columns, ",") + "\n1.0,1,2,u,de,en,x,y,1,1,1,1\n"))
	f.Add([]byte("p_recall\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, err := NewTraceReader(bytes.NewReader(data))
		if err != nil {
			return
		}
		for range 1000 {
			r, err := tr.Next()
			if err != nil {
				return
			}
			if r.PRecall < 0 || r.PRecall > 1 || r.Delta < 0 || r.HistoryCorrect > r.HistorySeen || r.SessionCorrect > r.SessionSeen {
				t.Fatalf("accepted an invalid row %+v", r)
			}
		}
	})
}
