// Compatibility tests for cauda driven by aws-sdk-go-v2 as Debian bookworm packages it
// (golang-github-aws-aws-sdk-go-v2-dev, service/sqs 1.19.x: the AWS Query protocol).
// Built offline in GOPATH mode: GO111MODULE=off GOPATH=/usr/share/gocode.
package compat

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

const (
	account = "000000000000"
	region  = "us-east-1"
)

func endpoint(t *testing.T) string {
	t.Helper()
	ep := strings.TrimRight(os.Getenv("CAUDA_ENDPOINT"), "/")
	if ep == "" {
		t.Fatal("CAUDA_ENDPOINT is not set (run compat-tests/run.sh)")
	}
	return ep
}

// newClient builds a client the way an application pointed at a local SQS would: static
// credentials, us-east-1, a custom endpoint resolver, no retries (an error must surface),
// and the SDK's message checksum validation left at its default (on).
func newClient(ep string) *sqs.Client {
	return sqs.New(sqs.Options{
		Region:           region,
		Credentials:      aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")),
		EndpointResolver: sqs.EndpointResolverFromURL(ep),
		Retryer:          aws.NopRetryer{},
		HTTPClient:       &http.Client{Timeout: 40 * time.Second},
	})
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

func uniqueName(prefix string, fifo bool) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	n := fmt.Sprintf("%s-%s", prefix, hex.EncodeToString(b))
	if fifo {
		n += ".fifo"
	}
	return n
}

// createQueue creates a uniquely named queue and deletes it when the test ends.
func createQueue(t *testing.T, c *sqs.Client, prefix string, fifo bool, attrs map[string]string, tags map[string]string) (string, string) {
	t.Helper()
	name := uniqueName(prefix, fifo)
	if fifo {
		if attrs == nil {
			attrs = map[string]string{}
		}
		attrs["FifoQueue"] = "true"
	}
	out, err := c.CreateQueue(ctx(t), &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs, Tags: tags})
	if err != nil {
		t.Fatalf("CreateQueue %s: %v", name, err)
	}
	url := aws.ToString(out.QueueUrl)
	deleteLater(t, c, url)
	return name, url
}

// deleteLater deletes the queue when the test ends (it may already be gone).
func deleteLater(t *testing.T, c *sqs.Client, url string) {
	t.Cleanup(func() {
		c2, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_, _ = c.DeleteQueue(c2, &sqs.DeleteQueueInput{QueueUrl: aws.String(url)})
	})
}

func md5Hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// md5OfAttributes is SQS-REFERENCE §5.3: names sorted; each of name, DataType and value
// length-prefixed (4-byte big-endian), a transport byte 1 (StringValue) or 2 (BinaryValue).
func md5OfAttributes(attrs map[string]types.MessageAttributeValue) string {
	names := make([]string, 0, len(attrs))
	for k := range attrs {
		names = append(names, k)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	lp := func(b []byte) {
		var l [4]byte
		binary.BigEndian.PutUint32(l[:], uint32(len(b)))
		buf.Write(l[:])
		buf.Write(b)
	}
	for _, n := range names {
		v := attrs[n]
		lp([]byte(n))
		lp([]byte(aws.ToString(v.DataType)))
		if v.StringValue != nil {
			buf.WriteByte(1)
			lp([]byte(*v.StringValue))
		} else {
			buf.WriteByte(2)
			lp(v.BinaryValue)
		}
	}
	return md5Hex(buf.Bytes())
}

func queueArn(name string) string {
	return fmt.Sprintf("arn:aws:sqs:%s:%s:%s", region, account, name)
}
