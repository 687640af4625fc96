package awsfake

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestParseChangeRequest(t *testing.T) {
	good := `<?xml version="1.0" encoding="UTF-8"?>
<ChangeResourceRecordSetsRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><ChangeBatch><Changes>
<Change><Action>UPSERT</Action><ResourceRecordSet><Name>api.example.com.</Name><Type>A</Type><SetIdentifier>eks</SetIdentifier><Weight>10</Weight><TTL>60</TTL>
<ResourceRecords><ResourceRecord><Value>192.0.2.1</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change>
</Changes></ChangeBatch></ChangeResourceRecordSetsRequest>`
	req, err := ParseChangeRequest(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	if rs := req.Changes[0].RecordSet; rs.Name != "api.example.com." || *rs.Weight != 10 || rs.Values[0] != "192.0.2.1" {
		t.Fatalf("parsed %+v", rs)
	}
	for name, body := range map[string]string{
		"weight over 255": strings.Replace(good, "<Weight>10<", "<Weight>256<", 1),
		"no set id":       strings.Replace(good, "<SetIdentifier>eks</SetIdentifier>", "", 1),
		"bad action":      strings.Replace(good, "UPSERT", "MERGE", 1),
		"no ttl":          strings.Replace(good, "<TTL>60</TTL>", "", 1),
		"no changes":      `<ChangeResourceRecordSetsRequest><ChangeBatch><Changes></Changes></ChangeBatch></ChangeResourceRecordSetsRequest>`,
		"not xml":         `{"json": true}`,
	} {
		if _, err := ParseChangeRequest(strings.NewReader(body)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestParseActions(t *testing.T) {
	f := url.Values{
		"Actions.member.1.Type":  {"forward"},
		"Actions.member.1.Order": {"1"},
		"Actions.member.1.ForwardConfig.TargetGroups.member.1.TargetGroupArn": {"tg-a"},
		"Actions.member.1.ForwardConfig.TargetGroups.member.1.Weight":         {"999"},
		"Actions.member.1.ForwardConfig.TargetGroups.member.2.TargetGroupArn": {"tg-b"},
		"Actions.member.1.ForwardConfig.TargetGroups.member.2.Weight":         {"0"},
	}
	acts, err := parseActions(f, "Actions")
	if err != nil || len(acts) != 1 || len(acts[0].TargetGroups) != 2 || acts[0].TargetGroups[0].Weight != 999 {
		t.Fatalf("parsed %+v, %v", acts, err)
	}
	f.Set("Actions.member.1.ForwardConfig.TargetGroups.member.2.Weight", "1000")
	if _, err := parseActions(f, "Actions"); err == nil || !strings.Contains(err.Error(), "0..999") {
		t.Fatalf("weight 1000: %v", err)
	}
}

func TestMaxPerWindow(t *testing.T) {
	t0 := time.Unix(0, 0)
	at := func(ms ...int) []time.Time {
		var ts []time.Time
		for _, m := range ms {
			ts = append(ts, t0.Add(time.Duration(m)*time.Millisecond))
		}
		return ts
	}
	for _, tc := range []struct {
		ts   []time.Time
		want int
	}{
		{nil, 0},
		{at(0), 1},
		{at(0, 999), 2},
		{at(0, 1000), 1},
		{at(500, 0, 1200, 1400, 1499), 4},
	} {
		if got := MaxPerWindow(tc.ts, time.Second); got != tc.want {
			t.Errorf("MaxPerWindow(%v) = %d, want %d", tc.ts, got, tc.want)
		}
	}
}

func FuzzParseChangeRequest(f *testing.F) {
	f.Add([]byte(`<ChangeResourceRecordSetsRequest><ChangeBatch><Changes><Change><Action>UPSERT</Action><ResourceRecordSet><Name>a.</Name><Type>A</Type><SetIdentifier>x</SetIdentifier><Weight>1</Weight><TTL>1</TTL><ResourceRecords><ResourceRecord><Value>1</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change></Changes></ChangeBatch></ChangeResourceRecordSetsRequest>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := ParseChangeRequest(strings.NewReader(string(data)))
		if err != nil {
			return
		}
		for _, c := range req.Changes {
			if w := c.RecordSet.Weight; w != nil && (*w < 0 || *w > 255) {
				t.Fatalf("accepted weight %d", *w)
			}
		}
	})
}

func FuzzParseActions(f *testing.F) {
	f.Add("Actions.member.1.Type=forward&Actions.member.1.ForwardConfig.TargetGroups.member.1.TargetGroupArn=a&Actions.member.1.ForwardConfig.TargetGroups.member.1.Weight=5")
	f.Fuzz(func(t *testing.T, form string) {
		v, err := url.ParseQuery(form)
		if err != nil {
			return
		}
		acts, err := parseActions(v, "Actions")
		if err != nil {
			return
		}
		for _, a := range acts {
			for _, g := range a.TargetGroups {
				if g.Weight < 0 || g.Weight > 999 {
					t.Fatalf("accepted weight %d", g.Weight)
				}
			}
		}
	})
}
