package compat

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// A loopback stub (not cauda) that records what the SDK sends and answers in Query XML.
type stub struct {
	mu   sync.Mutex
	reqs []recorded
	srv  *httptest.Server
	// replies by Action
	replies map[string]string
}

type recorded struct {
	method, path, contentType, auth string
	form                            url.Values
}

func newStub(t *testing.T, replies map[string]string) *stub {
	s := &stub{replies: replies}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		s.mu.Lock()
		s.reqs = append(s.reqs, recorded{r.Method, r.URL.Path, r.Header.Get("Content-Type"), r.Header.Get("Authorization"), form})
		s.mu.Unlock()
		w.Header().Set("Content-Type", "text/xml")
		reply, ok := s.replies[form.Get("Action")]
		if !ok {
			w.WriteHeader(400)
			reply = `<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>stub</Message></Error><RequestId>r</RequestId></ErrorResponse>`
		}
		_, _ = io.WriteString(w, reply)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *stub) last(t *testing.T) recorded {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.reqs) == 0 {
		t.Fatal("the stub saw no request")
	}
	return s.reqs[len(s.reqs)-1]
}

const ns = `xmlns="http://queue.amazonaws.com/doc/2012-11-05/"`

// The packaged SDK must really speak Query: a form-encoded POST with Action and Version,
// sent to the configured endpoint (path "/") with QueueUrl as a form parameter.
func TestWireIsQueryProtocol(t *testing.T) {
	s := newStub(t, map[string]string{
		"ListQueues":  `<ListQueuesResponse ` + ns + `><ListQueuesResult><QueueUrl>http://127.0.0.1:1/000000000000/a</QueueUrl><QueueUrl>http://127.0.0.1:1/000000000000/b</QueueUrl></ListQueuesResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></ListQueuesResponse>`,
		"SendMessage": `<SendMessageResponse ` + ns + `><SendMessageResult><MessageId>m-1</MessageId><MD5OfMessageBody>5d41402abc4b2a76b9719d911017c592</MD5OfMessageBody></SendMessageResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></SendMessageResponse>`,
	})
	c := newClient(s.srv.URL)

	out, err := c.ListQueues(ctx(t), &sqs.ListQueuesInput{QueueNamePrefix: aws.String("pre")})
	if err != nil {
		t.Fatalf("ListQueues against the stub: %v", err)
	}
	if got := strings.Join(out.QueueUrls, ","); got != "http://127.0.0.1:1/000000000000/a,http://127.0.0.1:1/000000000000/b" {
		t.Fatalf("XML ListQueues result parsed as %q", got)
	}
	r := s.last(t)
	if r.method != "POST" || r.path != "/" {
		t.Errorf("request line: %s %s, want POST /", r.method, r.path)
	}
	if !strings.HasPrefix(r.contentType, "application/x-www-form-urlencoded") {
		t.Errorf("Content-Type %q, want a form body", r.contentType)
	}
	if r.form.Get("Action") != "ListQueues" || r.form.Get("Version") != "2012-11-05" || r.form.Get("QueueNamePrefix") != "pre" {
		t.Errorf("form body %v, want Action=ListQueues&Version=2012-11-05&QueueNamePrefix=pre", r.form)
	}
	if !strings.HasPrefix(r.auth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") || !strings.Contains(r.auth, "/us-east-1/sqs/aws4_request") {
		t.Errorf("Authorization %q, want SigV4 for us-east-1/sqs", r.auth)
	}

	queueURL := "http://127.0.0.1:1/000000000000/elsewhere"
	sent, err := c.SendMessage(ctx(t), &sqs.SendMessageInput{QueueUrl: aws.String(queueURL), MessageBody: aws.String("hello")})
	if err != nil {
		t.Fatalf("SendMessage against the stub: %v", err)
	}
	if aws.ToString(sent.MessageId) != "m-1" {
		t.Errorf("MessageId %q", aws.ToString(sent.MessageId))
	}
	r = s.last(t)
	// This SDK sends to the configured endpoint, not to the QueueUrl's host (which is a
	// dead port here), and keeps QueueUrl as a form parameter.
	if r.path != "/" || r.form.Get("Action") != "SendMessage" || r.form.Get("QueueUrl") != queueURL || r.form.Get("MessageBody") != "hello" {
		t.Errorf("SendMessage request: path %q form %v", r.path, r.form)
	}
}

// The harness keeps the SDK's MD5 validation on: a wrong MD5OfMessageBody is an error.
func TestChecksumValidationIsOn(t *testing.T) {
	s := newStub(t, map[string]string{
		"SendMessage":    `<SendMessageResponse ` + ns + `><SendMessageResult><MessageId>m-1</MessageId><MD5OfMessageBody>00000000000000000000000000000000</MD5OfMessageBody></SendMessageResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></SendMessageResponse>`,
		"ReceiveMessage": `<ReceiveMessageResponse ` + ns + `><ReceiveMessageResult><Message><MessageId>m-1</MessageId><ReceiptHandle>rh</ReceiptHandle><MD5OfBody>ffffffffffffffffffffffffffffffff</MD5OfBody><Body>hello</Body></Message></ReceiveMessageResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></ReceiveMessageResponse>`,
	})
	c := newClient(s.srv.URL)
	q := aws.String(s.srv.URL + "/000000000000/q")
	_, err := c.SendMessage(ctx(t), &sqs.SendMessageInput{QueueUrl: q, MessageBody: aws.String("hello")})
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "checksum") {
		t.Errorf("SendMessage with a wrong MD5OfMessageBody: err = %v, want a checksum error", err)
	}
	_, err = c.ReceiveMessage(ctx(t), &sqs.ReceiveMessageInput{QueueUrl: q})
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "checksum") {
		t.Errorf("ReceiveMessage with a wrong MD5OfBody: err = %v, want a checksum error", err)
	}
}
