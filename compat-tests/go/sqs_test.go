package compat

import (
	"errors"
	"math/big"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
)

func TestQueueLifecycleAttributesTags(t *testing.T) {
	ep := endpoint(t)
	c := newClient(ep)
	name, url := createQueue(t, c, "go-life", false,
		map[string]string{"VisibilityTimeout": "45", "DelaySeconds": "0", "MaximumMessageSize": "2048"},
		map[string]string{"team": "core", "env": "dev"})
	if want := ep + "/" + account + "/" + name; url != want {
		t.Fatalf("QueueUrl %q, want %q", url, want)
	}

	got, err := c.GetQueueUrl(ctx(t), &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
	if err != nil || aws.ToString(got.QueueUrl) != url {
		t.Fatalf("GetQueueUrl = %v, %v; want %s", got, err, url)
	}

	// A second queue whose name extends the first: listing by the first name returns both,
	// by the second name only the second.
	other := name + "-b"
	o, err := c.CreateQueue(ctx(t), &sqs.CreateQueueInput{QueueName: aws.String(other)})
	if err != nil {
		t.Fatal(err)
	}
	otherURL := aws.ToString(o.QueueUrl)
	deleteLater(t, c, otherURL)
	if otherURL != ep+"/"+account+"/"+other {
		t.Fatalf("QueueUrl %q", otherURL)
	}
	list, err := c.ListQueues(ctx(t), &sqs.ListQueuesInput{QueueNamePrefix: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(sortedCopy(list.QueueUrls), []string{url, otherURL}) {
		t.Fatalf("ListQueues(prefix %s) = %v", name, list.QueueUrls)
	}
	list, err = c.ListQueues(ctx(t), &sqs.ListQueuesInput{QueueNamePrefix: aws.String(other)})
	if err != nil || !reflect.DeepEqual(list.QueueUrls, []string{otherURL}) {
		t.Fatalf("ListQueues(prefix %s) = %v, %v", other, list, err)
	}

	attrs, err := c.GetQueueAttributes(ctx(t), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll}})
	if err != nil {
		t.Fatal(err)
	}
	a := attrs.Attributes
	for k, want := range map[string]string{
		"VisibilityTimeout": "45", "DelaySeconds": "0", "MaximumMessageSize": "2048",
		"MessageRetentionPeriod": "345600", "ReceiveMessageWaitTimeSeconds": "0",
		"QueueArn": queueArn(name), "ApproximateNumberOfMessages": "0",
		"ApproximateNumberOfMessagesNotVisible": "0", "ApproximateNumberOfMessagesDelayed": "0",
	} {
		if a[k] != want {
			t.Errorf("attribute %s = %q, want %q", k, a[k], want)
		}
	}
	if _, ok := a["FifoQueue"]; ok {
		t.Errorf("a standard queue lists FifoQueue: %v", a)
	}
	if ts, err := strconv.ParseInt(a["CreatedTimestamp"], 10, 64); err != nil || ts < 1_600_000_000 || ts > 10_000_000_000 {
		t.Errorf("CreatedTimestamp %q is not epoch seconds", a["CreatedTimestamp"])
	}

	if _, err := c.SetQueueAttributes(ctx(t), &sqs.SetQueueAttributesInput{QueueUrl: aws.String(url),
		Attributes: map[string]string{"VisibilityTimeout": "60", "DelaySeconds": "2"}}); err != nil {
		t.Fatal(err)
	}
	attrs, err = c.GetQueueAttributes(ctx(t), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameVisibilityTimeout, types.QueueAttributeNameDelaySeconds}})
	if err != nil || !reflect.DeepEqual(attrs.Attributes, map[string]string{"VisibilityTimeout": "60", "DelaySeconds": "2"}) {
		t.Fatalf("after SetQueueAttributes: %v, %v", attrs, err)
	}

	// An out-of-range value is InvalidAttributeValue (no modelled type: a smithy.APIError).
	_, err = c.SetQueueAttributes(ctx(t), &sqs.SetQueueAttributesInput{QueueUrl: aws.String(url),
		Attributes: map[string]string{"VisibilityTimeout": "99999"}})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InvalidAttributeValue" {
		t.Errorf("VisibilityTimeout=99999: err = %v, want InvalidAttributeValue", err)
	}

	tags, err := c.ListQueueTags(ctx(t), &sqs.ListQueueTagsInput{QueueUrl: aws.String(url)})
	if err != nil || !reflect.DeepEqual(tags.Tags, map[string]string{"team": "core", "env": "dev"}) {
		t.Fatalf("ListQueueTags after create = %v, %v", tags, err)
	}
	if _, err := c.TagQueue(ctx(t), &sqs.TagQueueInput{QueueUrl: aws.String(url), Tags: map[string]string{"owner": "go", "env": "prod"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagQueue(ctx(t), &sqs.UntagQueueInput{QueueUrl: aws.String(url), TagKeys: []string{"team"}}); err != nil {
		t.Fatal(err)
	}
	tags, err = c.ListQueueTags(ctx(t), &sqs.ListQueueTagsInput{QueueUrl: aws.String(url)})
	if err != nil || !reflect.DeepEqual(tags.Tags, map[string]string{"owner": "go", "env": "prod"}) {
		t.Fatalf("ListQueueTags after tag/untag = %v, %v", tags, err)
	}

	if _, err := c.DeleteQueue(ctx(t), &sqs.DeleteQueueInput{QueueUrl: aws.String(url)}); err != nil {
		t.Fatal(err)
	}
	list, err = c.ListQueues(ctx(t), &sqs.ListQueuesInput{QueueNamePrefix: aws.String(name)})
	if err != nil || !reflect.DeepEqual(list.QueueUrls, []string{otherURL}) {
		t.Fatalf("ListQueues after DeleteQueue = %v, %v", list, err)
	}
}

// A missing queue maps to the SDK's own modelled error type.
func TestMissingQueueIsQueueDoesNotExist(t *testing.T) {
	c := newClient(endpoint(t))
	_, err := c.GetQueueUrl(ctx(t), &sqs.GetQueueUrlInput{QueueName: aws.String(uniqueName("go-missing", false))})
	if err == nil {
		t.Fatal("GetQueueUrl of a missing queue succeeded")
	}
	var qdne *types.QueueDoesNotExist
	if !errors.As(err, &qdne) {
		t.Fatalf("err %T %v is not *types.QueueDoesNotExist", err, err)
	}
	if qdne.ErrorCode() != "AWS.SimpleQueueService.NonExistentQueue" || qdne.ErrorFault() != smithy.FaultClient {
		t.Errorf("code %q fault %v", qdne.ErrorCode(), qdne.ErrorFault())
	}
	// (This SDK version's modelled Query errors carry no message: the generated
	// deserializer for QueueDoesNotExist reads nothing from the body.)
	var respErr *awshttp.ResponseError
	if !errors.As(err, &respErr) || respErr.HTTPStatusCode() != http.StatusBadRequest {
		t.Errorf("HTTP status: %v, want 400", err)
	}
	if respErr != nil && respErr.ServiceRequestID() == "" {
		t.Errorf("no RequestId parsed from the error body")
	}
	// The same through an operation that takes a QueueUrl.
	_, err = c.SendMessage(ctx(t), &sqs.SendMessageInput{
		QueueUrl: aws.String(endpoint(t) + "/" + account + "/" + uniqueName("go-missing", false)), MessageBody: aws.String("x")})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "AWS.SimpleQueueService.NonExistentQueue" {
		t.Errorf("SendMessage to a missing queue: %v", err)
	}
}

func TestSendReceiveDeleteWithAttributes(t *testing.T) {
	c := newClient(endpoint(t))
	_, url := createQueue(t, c, "go-msg", false, nil, nil)

	body := "hello ✓ 日本 🎉 <&>"
	attrs := map[string]types.MessageAttributeValue{
		"a": {DataType: aws.String("String"), StringValue: aws.String("hello")},
		"b": {DataType: aws.String("Binary"), BinaryValue: []byte{0, 1, 2}},
		"n": {DataType: aws.String("Number.int"), StringValue: aws.String("42")},
	}
	const wantAttrMD5 = "8ede164999645b25afbafe8fd5817b1c" // SQS-REFERENCE §5.3 vector
	if got := md5OfAttributes(attrs); got != wantAttrMD5 {
		t.Fatalf("test's own attribute MD5 %s, want %s", got, wantAttrMD5)
	}
	sent, err := c.SendMessage(ctx(t), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body), MessageAttributes: attrs})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(sent.MD5OfMessageBody) != md5Hex([]byte(body)) {
		t.Errorf("MD5OfMessageBody %s, want %s", aws.ToString(sent.MD5OfMessageBody), md5Hex([]byte(body)))
	}
	if aws.ToString(sent.MD5OfMessageAttributes) != wantAttrMD5 {
		t.Errorf("MD5OfMessageAttributes %s, want %s", aws.ToString(sent.MD5OfMessageAttributes), wantAttrMD5)
	}
	if sent.SequenceNumber != nil {
		t.Errorf("standard queue returned SequenceNumber %s", *sent.SequenceNumber)
	}

	// A second message with the plain Number type and the documented single-attribute vector.
	numAttrs := map[string]types.MessageAttributeValue{"timestamp": {DataType: aws.String("Number"), StringValue: aws.String("1493147359900")}}
	sent2, err := c.SendMessage(ctx(t), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("second"), MessageAttributes: numAttrs})
	if err != nil || aws.ToString(sent2.MD5OfMessageAttributes) != "235c5c510d26fb653d073faed50ae77c" {
		t.Fatalf("Number attribute send: %v, %v", sent2, err)
	}

	got := map[string]types.Message{}
	for i := 0; i < 5 && len(got) < 2; i++ {
		out, err := c.ReceiveMessage(ctx(t), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10,
			WaitTimeSeconds: 1, AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll}, MessageAttributeNames: []string{"All"}})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			got[aws.ToString(m.MessageId)] = m
		}
	}
	m, ok := got[aws.ToString(sent.MessageId)]
	if !ok || len(got) != 2 {
		t.Fatalf("received %d messages, want both (%v)", len(got), got)
	}
	if aws.ToString(m.Body) != body || aws.ToString(m.MD5OfBody) != md5Hex([]byte(body)) {
		t.Errorf("body %q md5 %s", aws.ToString(m.Body), aws.ToString(m.MD5OfBody))
	}
	if aws.ToString(m.MD5OfMessageAttributes) != wantAttrMD5 || md5OfAttributes(m.MessageAttributes) != wantAttrMD5 {
		t.Errorf("received MD5OfMessageAttributes %s (computed over what came back: %s), want %s",
			aws.ToString(m.MD5OfMessageAttributes), md5OfAttributes(m.MessageAttributes), wantAttrMD5)
	}
	if len(m.MessageAttributes) != 3 ||
		aws.ToString(m.MessageAttributes["a"].StringValue) != "hello" || aws.ToString(m.MessageAttributes["a"].DataType) != "String" ||
		!reflect.DeepEqual(m.MessageAttributes["b"].BinaryValue, []byte{0, 1, 2}) || aws.ToString(m.MessageAttributes["b"].DataType) != "Binary" ||
		aws.ToString(m.MessageAttributes["n"].StringValue) != "42" || aws.ToString(m.MessageAttributes["n"].DataType) != "Number.int" {
		t.Errorf("message attributes came back as %+v", m.MessageAttributes)
	}
	if m.Attributes["ApproximateReceiveCount"] != "1" || m.Attributes["SentTimestamp"] == "" || m.Attributes["SenderId"] == "" {
		t.Errorf("system attributes %v", m.Attributes)
	}
	if _, ok := m.Attributes["SequenceNumber"]; ok {
		t.Errorf("standard message has a SequenceNumber attribute")
	}
	m2 := got[aws.ToString(sent2.MessageId)]
	if aws.ToString(m2.Body) != "second" || aws.ToString(m2.MessageAttributes["timestamp"].StringValue) != "1493147359900" ||
		aws.ToString(m2.MD5OfMessageAttributes) != "235c5c510d26fb653d073faed50ae77c" {
		t.Errorf("second message %+v", m2)
	}

	// Both in flight now; make the first visible again and receive it with a filtered
	// attribute list: the MD5 covers only the attributes returned.
	if _, err := c.ChangeMessageVisibility(ctx(t), &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url),
		ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0}); err != nil {
		t.Fatal(err)
	}
	out, err := c.ReceiveMessage(ctx(t), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 2,
		MessageAttributeNames: []string{"a"}, AttributeNames: []types.QueueAttributeName{"ApproximateReceiveCount"}})
	if err != nil || len(out.Messages) != 1 {
		t.Fatalf("re-receive: %v, %v", out, err)
	}
	r := out.Messages[0]
	subset := map[string]types.MessageAttributeValue{"a": attrs["a"]}
	if aws.ToString(r.MessageId) != aws.ToString(sent.MessageId) || len(r.MessageAttributes) != 1 ||
		aws.ToString(r.MD5OfMessageAttributes) != md5OfAttributes(subset) || r.Attributes["ApproximateReceiveCount"] != "2" {
		t.Errorf("filtered re-receive: id %s attrs %v md5 %s (want %s) system %v", aws.ToString(r.MessageId), r.MessageAttributes,
			aws.ToString(r.MD5OfMessageAttributes), md5OfAttributes(subset), r.Attributes)
	}
	if aws.ToString(r.ReceiptHandle) == aws.ToString(m.ReceiptHandle) {
		t.Errorf("a second receive reused the receipt handle")
	}

	for _, h := range []*string{r.ReceiptHandle, m2.ReceiptHandle} {
		if _, err := c.DeleteMessage(ctx(t), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: h}); err != nil {
			t.Fatal(err)
		}
	}
	out, err = c.ReceiveMessage(ctx(t), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 1})
	if err != nil || len(out.Messages) != 0 {
		t.Errorf("queue not empty after DeleteMessage: %v, %v", out, err)
	}
	a, err := c.GetQueueAttributes(ctx(t), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll}})
	if err != nil || a.Attributes["ApproximateNumberOfMessages"] != "0" || a.Attributes["ApproximateNumberOfMessagesNotVisible"] != "0" {
		t.Errorf("counters after delete: %v, %v", a, err)
	}

	_, err = c.DeleteMessage(ctx(t), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: aws.String("garbage")})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "ReceiptHandleIsInvalid" {
		t.Errorf("DeleteMessage(garbage): %v, want ReceiptHandleIsInvalid", err)
	}
	var rhi *types.ReceiptHandleIsInvalid
	if !errors.As(err, &rhi) {
		t.Errorf("DeleteMessage(garbage): %T is not *types.ReceiptHandleIsInvalid", err)
	}
}

func TestFifoGroupOrder(t *testing.T) {
	c := newClient(endpoint(t))
	name, url := createQueue(t, c, "go-fifo", true, nil, nil)
	a, err := c.GetQueueAttributes(ctx(t), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll}})
	if err != nil || a.Attributes["FifoQueue"] != "true" || a.Attributes["ContentBasedDeduplication"] != "false" ||
		a.Attributes["QueueArn"] != queueArn(name) {
		t.Fatalf("FIFO attributes %v, %v", a, err)
	}

	const n = 6
	bodies := make([]string, n)
	seqs := make([]string, n)
	var prev *big.Int
	for i := 0; i < n; i++ {
		bodies[i] = "fifo-" + strconv.Itoa(i)
		out, err := c.SendMessage(ctx(t), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(bodies[i]),
			MessageGroupId: aws.String("g1"), MessageDeduplicationId: aws.String("d" + strconv.Itoa(i))})
		if err != nil {
			t.Fatal(err)
		}
		seqs[i] = aws.ToString(out.SequenceNumber)
		v, ok := new(big.Int).SetString(seqs[i], 10)
		if !ok {
			t.Fatalf("SequenceNumber %q is not a decimal number", seqs[i])
		}
		if prev != nil && v.Cmp(prev) <= 0 {
			t.Errorf("SequenceNumber %s does not increase after %s", v, prev)
		}
		prev = v
	}
	// A duplicate (same dedup id within 5 minutes) is accepted but not delivered again.
	if _, err := c.SendMessage(ctx(t), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("dup"),
		MessageGroupId: aws.String("g1"), MessageDeduplicationId: aws.String("d0")}); err != nil {
		t.Fatal(err)
	}
	// Missing MessageGroupId on a FIFO queue.
	_, err = c.SendMessage(ctx(t), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("nogroup"),
		MessageDeduplicationId: aws.String("x")})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "MissingParameter" {
		t.Errorf("FIFO send without MessageGroupId: %v, want MissingParameter", err)
	}

	var got []types.Message
	for i := 0; i < 10 && len(got) < n; i++ {
		out, err := c.ReceiveMessage(ctx(t), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10,
			WaitTimeSeconds: 1, VisibilityTimeout: 60, AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll}})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, out.Messages...)
	}
	if len(got) != n {
		t.Fatalf("received %d messages, want %d", len(got), n)
	}
	for i, m := range got {
		if aws.ToString(m.Body) != bodies[i] {
			t.Errorf("message %d is %q, want %q (out of order)", i, aws.ToString(m.Body), bodies[i])
		}
		if m.Attributes["SequenceNumber"] != seqs[i] || m.Attributes["MessageGroupId"] != "g1" ||
			m.Attributes["MessageDeduplicationId"] != "d"+strconv.Itoa(i) {
			t.Errorf("message %d attributes %v, want SequenceNumber %s", i, m.Attributes, seqs[i])
		}
	}
	// Nothing else: the duplicate was not delivered and the group is fully in flight.
	out, err := c.ReceiveMessage(ctx(t), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10})
	if err != nil || len(out.Messages) != 0 {
		t.Errorf("extra messages: %v, %v", out, err)
	}
	entries := make([]types.DeleteMessageBatchRequestEntry, 0, n)
	for i, m := range got {
		entries = append(entries, types.DeleteMessageBatchRequestEntry{Id: aws.String("e" + strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
	}
	del, err := c.DeleteMessageBatch(ctx(t), &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
	if err != nil || len(del.Successful) != n || len(del.Failed) != 0 {
		t.Fatalf("DeleteMessageBatch: %v, %v", del, err)
	}
}

func TestSendMessageBatchPartialFailure(t *testing.T) {
	c := newClient(endpoint(t))
	_, url := createQueue(t, c, "go-batch", false, map[string]string{"MaximumMessageSize": "1024"}, nil)
	big := strings.Repeat("x", 2000)
	attrs := map[string]types.MessageAttributeValue{"k": {DataType: aws.String("String"), StringValue: aws.String("v")}}
	out, err := c.SendMessageBatch(ctx(t), &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: []types.SendMessageBatchRequestEntry{
		{Id: aws.String("ok1"), MessageBody: aws.String("first")},
		{Id: aws.String("toobig"), MessageBody: aws.String(big)},
		{Id: aws.String("ok2"), MessageBody: aws.String("second"), MessageAttributes: attrs},
	}})
	if err != nil {
		t.Fatalf("SendMessageBatch with one bad entry must succeed as a call: %v", err)
	}
	ok := map[string]types.SendMessageBatchResultEntry{}
	for _, e := range out.Successful {
		ok[aws.ToString(e.Id)] = e
	}
	if len(ok) != 2 || ok["ok1"].MessageId == nil || ok["ok2"].MessageId == nil {
		t.Fatalf("Successful = %+v", out.Successful)
	}
	if aws.ToString(ok["ok1"].MD5OfMessageBody) != md5Hex([]byte("first")) || aws.ToString(ok["ok2"].MD5OfMessageBody) != md5Hex([]byte("second")) {
		t.Errorf("batch body MD5s %+v", out.Successful)
	}
	if ok["ok1"].MD5OfMessageAttributes != nil || aws.ToString(ok["ok2"].MD5OfMessageAttributes) != md5OfAttributes(attrs) {
		t.Errorf("batch attribute MD5s: ok1 %v, ok2 %v (want %s)", aws.ToString(ok["ok1"].MD5OfMessageAttributes),
			aws.ToString(ok["ok2"].MD5OfMessageAttributes), md5OfAttributes(attrs))
	}
	if len(out.Failed) != 1 {
		t.Fatalf("Failed = %+v, want one entry", out.Failed)
	}
	f := out.Failed[0]
	if aws.ToString(f.Id) != "toobig" || aws.ToString(f.Code) != "InvalidParameterValue" || !f.SenderFault {
		t.Errorf("Failed entry Id=%s Code=%s SenderFault=%v Message=%s", aws.ToString(f.Id), aws.ToString(f.Code), f.SenderFault, aws.ToString(f.Message))
	}
	if !strings.Contains(aws.ToString(f.Message), "1024") {
		t.Errorf("Failed message %q does not name the limit", aws.ToString(f.Message))
	}

	// Exactly the two good messages are in the queue.
	bodies := map[string]bool{}
	for i := 0; i < 5 && len(bodies) < 2; i++ {
		r, err := c.ReceiveMessage(ctx(t), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range r.Messages {
			bodies[aws.ToString(m.Body)] = true
		}
	}
	if !reflect.DeepEqual(bodies, map[string]bool{"first": true, "second": true}) {
		t.Errorf("queue holds %v", bodies)
	}

	// A request-level batch error is the modelled type.
	_, err = c.SendMessageBatch(ctx(t), &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: []types.SendMessageBatchRequestEntry{
		{Id: aws.String("x"), MessageBody: aws.String("a")}, {Id: aws.String("x"), MessageBody: aws.String("b")}}})
	var dup *types.BatchEntryIdsNotDistinct
	if !errors.As(err, &dup) || dup.ErrorCode() != "AWS.SimpleQueueService.BatchEntryIdsNotDistinct" {
		t.Errorf("duplicate batch ids: %T %v", err, err)
	}
}

func sortedCopy(s []string) []string {
	c := append([]string(nil), s...)
	for i := 1; i < len(c); i++ {
		for j := i; j > 0 && c[j] < c[j-1]; j-- {
			c[j], c[j-1] = c[j-1], c[j]
		}
	}
	return c
}
