// Package smsalibaba sends streak reminders through Alibaba Cloud SMS
// (dysmsapi), with the official Go SDK over one shared HTTPS connection
// pool, and receives its uplink replies (opt-outs) and delivery receipts.
package smsalibaba

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/dysmsapi"

	"github.com/owlstack/owl/internal/sms"
)

// Config configures the Alibaba Cloud SMS adapter.
type Config struct {
	// Endpoint is the API host[:port]; default dysmsapi.aliyuncs.com.
	Endpoint        string
	RegionID        string
	AccessKeyID     string
	AccessKeySecret string
	SignName        string
	TemplateCode    string
	// Timeout bounds one API call.
	Timeout time.Duration
	// Concurrency is how many calls may run at once.
	Concurrency int
}

// Provider is the Alibaba Cloud SMS adapter; it implements sms.Provider.
type Provider struct {
	cfg     Config
	clients chan *client
	beijing *time.Location
}

// client is one SDK client. The SDK writes to its http.Client on every
// call, so each concurrent call gets its own SDK client; they all share one
// transport and so one connection pool.
type client struct {
	sdk *dysmsapi.Client
	rt  *sms.ContextTransport
}

// New returns an adapter whose calls all go through transport.
func New(cfg Config, transport http.RoundTripper) (*Provider, error) {
	if cfg.Endpoint == "" {
		cfg.Endpoint = "dysmsapi.aliyuncs.com"
	}
	if cfg.RegionID == "" {
		cfg.RegionID = "cn-hangzhou"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 16
	}
	if cfg.AccessKeyID == "" || cfg.AccessKeySecret == "" || cfg.SignName == "" || cfg.TemplateCode == "" {
		return nil, errors.New("alibaba sms: access key id, access key secret, sign name and template code are all required")
	}
	bj, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return nil, err
	}
	p := &Provider{cfg: cfg, clients: make(chan *client, cfg.Concurrency), beijing: bj}
	for range cfg.Concurrency {
		// Never let the SDK retry by itself: a retried send after a timeout
		// is a duplicate SMS. owl decides when to retry.
		conf := sdk.NewConfig().WithAutoRetry(false).WithMaxRetryTime(0).WithScheme("HTTPS")
		c, err := dysmsapi.NewClientWithOptions(cfg.RegionID, conf, credentials.NewAccessKeyCredential(cfg.AccessKeyID, cfg.AccessKeySecret))
		if err != nil {
			return nil, fmt.Errorf("alibaba sms client: %w", err)
		}
		rt := &sms.ContextTransport{Base: transport}
		// Not an *http.Transport, so the SDK leaves its settings alone.
		c.SetTransport(rt)
		p.clients <- &client{sdk: c, rt: rt}
	}
	return p, nil
}

func (p *Provider) take(ctx context.Context) (*client, error) {
	select {
	case c := <-p.clients:
		c.rt.Use(ctx)
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *Provider) give(c *client) {
	// Drop the job's context: the client must not keep it alive or
	// cancel a later call with it.
	c.rt.Use(context.Background())
	p.clients <- c
}

func (p *Provider) prepare(r *requests.RpcRequest) {
	r.Domain = p.cfg.Endpoint
	r.Scheme = requests.HTTPS
	r.SetReadTimeout(p.cfg.Timeout)
	r.SetConnectTimeout(5 * time.Second)
}

// number writes an E.164 number the way the API takes it: mainland numbers
// without country code, others as country code and number, no '+'.
func number(e164 string) string {
	if n, ok := strings.CutPrefix(e164, "+86"); ok {
		return n
	}
	return strings.TrimPrefix(e164, "+")
}

// Send implements sms.Provider: SendSms with the template, the streak as
// its parameter, and the reminder's reference as OutId.
func (p *Provider) Send(ctx context.Context, m sms.Message) (string, error) {
	c, err := p.take(ctx)
	if err != nil {
		return "", sms.Classify(err)
	}
	defer p.give(c)
	req := dysmsapi.CreateSendSmsRequest()
	p.prepare(req.RpcRequest)
	req.PhoneNumbers = number(m.To)
	req.SignName = p.cfg.SignName
	req.TemplateCode = p.cfg.TemplateCode
	params, _ := json.Marshal(map[string]string{"days": fmt.Sprint(m.StreakDays)})
	req.TemplateParam = string(params)
	req.OutId = m.Ref
	resp, err := c.sdk.SendSms(req)
	if err != nil {
		return "", classify(err)
	}
	return sendAnswer(resp.Code, resp.BizId)
}

// MaxBatch implements sms.BatchProvider: SendBatchSms takes up to 100
// numbers.
func (p *Provider) MaxBatch() int { return 100 }

// SendBatch implements sms.BatchProvider with SendBatchSms: one template,
// one sign name and one streak parameter per number, and ref as the call's
// OutId (the API has one OutId per call). Its answer covers the whole call:
// one BizId for all the numbers, or one error code, and an invalid or
// blocked number refuses the call without saying which; the carriers'
// verdicts per number come later, as receipts.
func (p *Provider) SendBatch(ctx context.Context, ref string, ms []sms.Message) (string, error) {
	if len(ms) == 0 || len(ms) > p.MaxBatch() {
		return "", fmt.Errorf("alibaba sms: a batch of %d messages; expected 1 to %d", len(ms), p.MaxBatch())
	}
	c, err := p.take(ctx)
	if err != nil {
		return "", sms.Classify(err)
	}
	defer p.give(c)
	req := dysmsapi.CreateSendBatchSmsRequest()
	p.prepare(req.RpcRequest)
	// The arrays are built by hand, cheaply: the numbers are digits and
	// the sign name is JSON-encoded once.
	signJSON, _ := json.Marshal(p.cfg.SignName)
	sign := string(signJSON)
	var phones, signs, params strings.Builder
	phones.Grow(len(ms) * 16)
	signs.Grow(len(ms) * (len(sign) + 1))
	params.Grow(len(ms) * 16)
	for i, m := range ms {
		sep := ","
		if i == 0 {
			sep = "["
		}
		phones.WriteString(sep)
		phones.WriteString(strconv.Quote(number(m.To)))
		signs.WriteString(sep)
		signs.WriteString(sign)
		params.WriteString(sep)
		params.WriteString(`{"days":"`)
		params.WriteString(strconv.Itoa(m.StreakDays))
		params.WriteString(`"}`)
	}
	phones.WriteString("]")
	signs.WriteString("]")
	params.WriteString("]")
	req.PhoneNumberJson = phones.String()
	req.SignNameJson = signs.String()
	req.TemplateParamJson = params.String()
	req.TemplateCode = p.cfg.TemplateCode
	req.OutId = ref
	resp, err := c.sdk.SendBatchSms(req)
	if err != nil {
		return "", classify(err)
	}
	return sendAnswer(resp.Code, resp.BizId)
}

// Lookup implements sms.Provider with QuerySendDetails: the number's
// messages on the Beijing dates that the reminder's local date spans, 50 per
// page, matched by OutId, which is m.Ref: the reference of the call to find
// (a reminder's own, or its batch's).
func (p *Provider) Lookup(ctx context.Context, m sms.Message) (string, bool, error) {
	c, err := p.take(ctx)
	if err != nil {
		return "", false, sms.Classify(err)
	}
	defer p.give(c)
	start := m.Deadline.Add(-24 * time.Hour)
	days := []string{start.In(p.beijing).Format("20060102")}
	if last := m.Deadline.Add(-time.Nanosecond).In(p.beijing).Format("20060102"); last != days[0] {
		days = append(days, last)
	}
	for _, day := range days {
		for page := 1; ; page++ {
			req := dysmsapi.CreateQuerySendDetailsRequest()
			p.prepare(req.RpcRequest)
			req.PhoneNumber = number(m.To)
			req.SendDate = day
			req.PageSize = requests.NewInteger(50)
			req.CurrentPage = requests.NewInteger(page)
			resp, err := c.sdk.QuerySendDetails(req)
			if err != nil {
				return "", false, classify(err)
			}
			if resp.Code != "OK" {
				return "", false, codeError(resp.Code)
			}
			dtos := resp.SmsSendDetailDTOs.SmsSendDetailDTO
			for _, d := range dtos {
				if d.OutId == m.Ref && d.SendStatus != 2 { // 2: failed, so not sent
					return m.Ref, true, nil
				}
			}
			total, _ := strconv.Atoi(resp.TotalCount)
			if len(dtos) < 50 || page*50 >= total {
				break
			}
		}
	}
	return "", false, nil
}

// codeError maps an API body code to what may safely follow.
func codeError(code string) error {
	e := &sms.ProviderError{Code: code}
	switch {
	case code == "Throttling.User" || code == "Throttling" || strings.HasPrefix(code, "Throttling."):
		e.Kind, e.Reason = sms.Throttled, "throttled"
	case code == "isv.MOBILE_NUMBER_ILLEGAL":
		e.Kind, e.Reason = sms.Rejected, "invalid_number"
	case code == "isv.BUSINESS_LIMIT_CONTROL" || code == "isv.DAY_LIMIT_CONTROL":
		e.Kind, e.Reason = sms.Rejected, "business_limit"
	case code == "isv.AMOUNT_NOT_ENOUGH" || code == "isv.OUT_OF_SERVICE":
		e.Kind, e.Reason = sms.Rejected, "account"
	case code == "ServiceUnavailable" || code == "InternalError":
		e.Kind, e.Reason = sms.Ambiguous, "server_error"
	case strings.HasPrefix(code, "isv.") || strings.HasPrefix(code, "Invalid") || strings.HasPrefix(code, "Signature") || strings.HasPrefix(code, "Forbidden"):
		e.Kind, e.Reason = sms.Rejected, "rejected"
	default:
		e.Kind, e.Reason = sms.Ambiguous, "unknown_code"
	}
	return e
}

// classify turns an SDK error into a ProviderError. The SDK's own messages
// can quote the request URL, which holds the phone number: they are dropped.
func classify(err error) error {
	var se *sdkerrors.ServerError
	if errors.As(err, &se) {
		if se.HttpStatus() >= 500 {
			return &sms.ProviderError{Kind: sms.Ambiguous, Reason: "server_error", Code: fmt.Sprint(se.HttpStatus())}
		}
		return codeError(se.ErrorCode())
	}
	var ce *sdkerrors.ClientError
	if errors.As(err, &ce) && ce.ErrorCode() == sdkerrors.TimeoutErrorCode {
		return &sms.ProviderError{Kind: sms.Ambiguous, Reason: "timeout", Code: "timeout"}
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || strings.Contains(err.Error(), "Client.Timeout") {
		return &sms.ProviderError{Kind: sms.Ambiguous, Reason: "timeout", Code: "timeout"}
	}
	return &sms.ProviderError{Kind: sms.Ambiguous, Reason: "transport", Code: "transport"}
}

// sendAnswer reads the answer of SendSms and SendBatchSms: the call's
// BizId when it was accepted.
func sendAnswer(code, bizID string) (string, error) {
	if code != "OK" {
		return "", codeError(code)
	}
	if bizID == "" {
		return "", &sms.ProviderError{Kind: sms.Ambiguous, Reason: "bad_answer", Code: "no BizId"}
	}
	return bizID, nil
}
