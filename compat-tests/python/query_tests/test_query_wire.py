"""Hand-built, SigV4-signed Query requests: the XML envelope and the endpoint rules of §1.3/§1.4."""
import json
import urllib.parse
import urllib.request

import pytest

import compat_util as cu
from conftest import NS, http_send, signed_query, xml, xml_error


def test_send_message_xml_envelope(endpoint, queue):
    status, headers, body = signed_query(endpoint, {
        "Action": "SendMessage", "Version": "2012-11-05", "QueueUrl": queue, "MessageBody": "hello"})
    assert status == 200, body
    assert {k.lower(): v for k, v in headers.items()}["content-type"].startswith("text/xml")
    root = xml(body)
    assert root.tag == NS + "SendMessageResponse", body
    res = root.find(NS + "SendMessageResult")
    assert res.find(NS + "MD5OfMessageBody").text == "5d41402abc4b2a76b9719d911017c592"
    assert res.find(NS + "MessageId").text
    assert res.find(NS + "MD5OfMessageAttributes") is None
    assert root.find(f"{NS}ResponseMetadata/{NS}RequestId").text


def test_output_less_action_envelope(endpoint, queue):
    status, _, body = signed_query(endpoint, {
        "Action": "SetQueueAttributes", "Version": "2012-11-05", "QueueUrl": queue,
        "Attribute.1.Name": "VisibilityTimeout", "Attribute.1.Value": "31"})
    assert status == 200, body
    root = xml(body)
    assert root.tag == NS + "SetQueueAttributesResponse"
    assert root.find(f"{NS}ResponseMetadata/{NS}RequestId").text


def test_empty_receive_result(endpoint, queue):
    status, _, body = signed_query(endpoint, {
        "Action": "ReceiveMessage", "Version": "2012-11-05", "QueueUrl": queue})
    assert status == 200, body
    root = xml(body)
    res = root.find(NS + "ReceiveMessageResult")
    assert res is not None, body
    assert res.findall(NS + "Message") == []


def test_error_envelope(endpoint):
    missing = f"{endpoint}/{cu.ACCOUNT}/{cu.unique_name('wire-missing')}"
    status, _, body = signed_query(endpoint, {
        "Action": "GetQueueAttributes", "Version": "2012-11-05", "QueueUrl": missing,
        "AttributeName.1": "All"})
    assert status == 400, body
    root = xml(body)
    assert root.tag == NS + "ErrorResponse", body
    assert xml_error(body)[:2] == ("Sender", "AWS.SimpleQueueService.NonExistentQueue")
    assert xml_error(body)[2]
    assert root.find(NS + "RequestId") is not None and root.find(NS + "RequestId").text


def test_get_on_queue_url(endpoint, sqs, queue):
    path = urllib.parse.urlparse(queue).path
    status, _, body = signed_query(endpoint, {"Action": "GetQueueAttributes", "AttributeName.1": "All"},
                                   path=path, method="GET")
    assert status == 200, body
    names = {a.find(NS + "Name").text: a.find(NS + "Value").text
             for a in xml(body).iter(NS + "Attribute")}
    assert names["QueueArn"] == cu.queue_arn(cu.name_of(queue))
    assert names["VisibilityTimeout"] == "30"


def test_post_to_queue_path_without_queue_url(endpoint, sqs, queue):
    path = urllib.parse.urlparse(queue).path
    status, _, body = signed_query(endpoint, {"Action": "SendMessage", "Version": "2012-11-05",
                                              "MessageBody": "via-path"}, path=path)
    assert status == 200, body
    [m] = sqs.receive_message(QueueUrl=queue)["Messages"]
    assert m["Body"] == "via-path"


def test_queue_url_param_wins_over_path(endpoint, sqs, make_queue):
    a, b = make_queue("wire-a"), make_queue("wire-b")
    status, _, body = signed_query(endpoint, {"Action": "SendMessage", "Version": "2012-11-05",
                                              "QueueUrl": b, "MessageBody": "to-b"},
                                   path=urllib.parse.urlparse(a).path)
    assert status == 200, body
    assert sqs.receive_message(QueueUrl=a).get("Messages", []) == []
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=b)["Messages"]] == ["to-b"]


def test_invalid_action_on_queue_path(endpoint, queue):
    path = urllib.parse.urlparse(queue).path
    for action in ("CreateQueue", "ListQueues"):
        status, _, body = signed_query(endpoint, {"Action": action, "Version": "2012-11-05",
                                                  "QueueName": cu.unique_name("x")}, path=path)
        assert status == 400, body
        assert xml_error(body)[1] == "InvalidAction", body


def test_unknown_action(endpoint):
    status, _, body = signed_query(endpoint, {"Action": "FooBar", "Version": "2012-11-05"})
    assert status == 400, body
    assert xml_error(body)[1] == "InvalidAction", body


def test_list_queues_xml(endpoint, make_queue):
    url = make_queue("wire-list")
    status, _, body = signed_query(endpoint, {"Action": "ListQueues", "Version": "2012-11-05",
                                              "QueueNamePrefix": cu.name_of(url)})
    assert status == 200, body
    urls = [u.text for u in xml(body).find(NS + "ListQueuesResult").findall(NS + "QueueUrl")]
    assert urls == [url]


def test_receive_binary_attribute_xml(endpoint, sqs, queue):
    sqs.send_message(QueueUrl=queue, MessageBody="bin", MessageAttributes={
        "b": {"DataType": "Binary", "BinaryValue": b"\x00\x01\x02"}})
    status, _, body = signed_query(endpoint, {"Action": "ReceiveMessage", "Version": "2012-11-05",
                                              "QueueUrl": queue, "MessageAttributeName.1": "All"})
    assert status == 200, body
    msg = xml(body).find(f"{NS}ReceiveMessageResult/{NS}Message")
    attr = msg.find(NS + "MessageAttribute")
    assert attr.find(NS + "Name").text == "b"
    assert attr.find(f"{NS}Value/{NS}DataType").text == "Binary"
    assert attr.find(f"{NS}Value/{NS}BinaryValue").text == "AAEC"


def test_unsigned_query_rejected(endpoint):
    req = urllib.request.Request(endpoint + "/", data=b"Action=ListQueues&Version=2012-11-05", method="POST",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    status, _, body = http_send(req)
    assert status == 403, body
    assert xml_error(body)[:2] == ("Sender", "MissingAuthenticationToken")


def test_json_request_to_queue_path(endpoint, sqs, queue):
    """JSON dispatch is by headers; the PHP SDK posts JSON to the queue URL path."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    body = json.dumps({"QueueUrl": queue, "MessageBody": "json-on-path"}).encode()
    req = AWSRequest(method="POST", url=queue, data=body, headers={
        "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS.SendMessage"})
    SigV4Auth(Credentials("test", "test"), "sqs", cu.REGION).add_auth(req)
    p = req.prepare()
    status, _, out = http_send(urllib.request.Request(p.url, data=p.body, method="POST", headers=dict(p.headers)))
    assert status == 200, out
    assert json.loads(out)["MD5OfMessageBody"] == cu.md5_hex("json-on-path")
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=queue)["Messages"]] == ["json-on-path"]


def test_get_on_queue_url_without_parameters(endpoint, queue):
    status, _, body = signed_query(endpoint, {}, path=urllib.parse.urlparse(queue).path, method="GET")
    assert status == 404, body
    assert b"UnknownOperationException" in body, body


def test_missing_required_parameter_query(endpoint, queue):
    status, _, body = signed_query(endpoint, {"Action": "SendMessage", "Version": "2012-11-05", "QueueUrl": queue})
    assert status == 400, body
    assert xml_error(body)[:2] == ("Sender", "MissingParameter"), body


def test_parameters_form_encoded_utf8(endpoint, sqs, queue):
    body_text = "ünïcödé + spaces & ampersands = equals %41"
    status, _, body = signed_query(endpoint, {"Action": "SendMessage", "Version": "2012-11-05", "QueueUrl": queue,
                                              "MessageBody": body_text})
    assert status == 200, body
    assert xml(body).find(f"{NS}SendMessageResult/{NS}MD5OfMessageBody").text == cu.md5_hex(body_text)
    assert sqs.receive_message(QueueUrl=queue)["Messages"][0]["Body"] == body_text


# ------------------------------------------------ Accept: application/json (§1.3, legacy)

ACCEPT_JSON = {"Accept": "application/json"}
TRICKY_BODY = 'quote " backslash \\ <b>&amp; é 😀\r\nline'


def json_result(reply, action):
    """The <Action>Result of a Query JSON reply (None without one), after checking the envelope."""
    status, headers, body = reply
    assert status == 200, body
    h = {k.lower(): v for k, v in headers.items()}
    assert h["content-type"].startswith("application/json"), h
    doc = json.loads(body)
    assert list(doc) == [f"{action}Response"], doc
    response = doc[f"{action}Response"]
    assert response["ResponseMetadata"]["RequestId"] == h["x-amzn-requestid"], doc
    return response.get(f"{action}Result")


def test_get_queue_attributes_json(endpoint, queue):
    result = json_result(signed_query(endpoint, {
        "Action": "GetQueueAttributes", "Version": "2012-11-05", "QueueUrl": queue,
        "AttributeName.1": "All"}, extra_headers=ACCEPT_JSON), "GetQueueAttributes")
    # Recorded on AWS: a list of {Name, Value} under "Attributes".
    assert all(set(a) == {"Name", "Value"} for a in result["Attributes"]), result
    attrs = {a["Name"]: a["Value"] for a in result["Attributes"]}
    assert attrs["QueueArn"] == cu.queue_arn(cu.name_of(queue))
    assert attrs["VisibilityTimeout"] == "30"


def test_get_queue_attributes_json_on_queue_url(endpoint, queue):
    """The recorded AWS case: a GET on the queue URL with Accept: application/json."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    url = queue + "?" + urllib.parse.urlencode({"Action": "GetQueueAttributes",
                                                 "AttributeName.1": "QueueArn"})
    req = AWSRequest(method="GET", url=url, headers=dict(ACCEPT_JSON))
    SigV4Auth(Credentials("test", "test"), "sqs", cu.REGION).add_auth(req)
    p = req.prepare()
    reply = http_send(urllib.request.Request(p.url, method="GET", headers=dict(p.headers)))
    result = json_result(reply, "GetQueueAttributes")
    assert result == {"Attributes": [{"Name": "QueueArn", "Value": cu.queue_arn(cu.name_of(queue))}]}


def test_send_message_json(endpoint, sqs, queue):
    result = json_result(signed_query(endpoint, {
        "Action": "SendMessage", "Version": "2012-11-05", "QueueUrl": queue,
        "MessageBody": TRICKY_BODY}, extra_headers=ACCEPT_JSON), "SendMessage")
    assert result["MD5OfMessageBody"] == cu.md5_hex(TRICKY_BODY)
    assert result["MessageId"]
    assert result["MD5OfMessageAttributes"] is None
    [m] = sqs.receive_message(QueueUrl=queue)["Messages"]
    assert (m["MessageId"], m["Body"]) == (result["MessageId"], TRICKY_BODY)


def test_receive_message_json(endpoint, sqs, queue):
    attrs = {"s": {"DataType": "String", "StringValue": "v<&>"},
             "b": {"DataType": "Binary", "BinaryValue": b"\x00\x01\x02"}}
    sent = sqs.send_message(QueueUrl=queue, MessageBody=TRICKY_BODY, MessageAttributes=attrs)
    params = {"Action": "ReceiveMessage", "Version": "2012-11-05", "QueueUrl": queue,
              "AttributeName.1": "All", "MessageAttributeName.1": "All"}
    result = json_result(signed_query(endpoint, params, extra_headers=ACCEPT_JSON), "ReceiveMessage")
    [m] = result["messages"]
    assert m["MessageId"] == sent["MessageId"]
    assert m["Body"] == TRICKY_BODY
    assert m["MD5OfBody"] == cu.md5_hex(TRICKY_BODY)
    assert m["ReceiptHandle"]
    assert m["Attributes"]["ApproximateReceiveCount"] == "1"
    assert m["Attributes"]["SentTimestamp"].isdigit()
    assert m["MD5OfMessageAttributes"] == cu.md5_of_message_attributes(attrs)
    assert m["MessageAttributes"]["s"]["DataType"] == "String"
    assert m["MessageAttributes"]["s"]["StringValue"] == "v<&>"
    assert m["MessageAttributes"]["b"]["BinaryValue"] == "AAEC"
    # Nothing left: AWS answers "messages": null.
    assert json_result(signed_query(endpoint, params, extra_headers=ACCEPT_JSON),
                       "ReceiveMessage") == {"messages": None}


def test_error_json(endpoint, queue):
    path = urllib.parse.urlparse(queue).path
    status, headers, body = signed_query(endpoint, {"Action": "ListQueues", "Version": "2012-11-05"},
                                         path=path, extra_headers=ACCEPT_JSON)
    assert status == 400, body
    h = {k.lower(): v for k, v in headers.items()}
    assert h["content-type"].startswith("application/json"), h
    assert "x-amzn-query-error" not in h
    doc = json.loads(body)
    # Recorded on AWS: the Error object at the top.
    assert doc["Error"]["Code"] == "InvalidAction", doc
    assert doc["Error"]["Message"] == "The action ListQueues is not valid for this endpoint.", doc
    assert doc["Error"]["Type"] == "Sender", doc
    assert doc["RequestId"] == h["x-amzn-requestid"], doc

    missing = f"{endpoint}/{cu.ACCOUNT}/{cu.unique_name('wire-missing')}"
    status, _, body = signed_query(endpoint, {"Action": "GetQueueAttributes", "Version": "2012-11-05",
                                              "QueueUrl": missing}, extra_headers=ACCEPT_JSON)
    assert status == 400, body
    assert json.loads(body)["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue", body


@pytest.mark.parametrize("accept", ["*/*", "text/xml", "text/xml, application/json"])
def test_xml_unless_json_is_asked_for(endpoint, queue, accept):
    status, headers, body = signed_query(endpoint, {
        "Action": "GetQueueUrl", "Version": "2012-11-05", "QueueName": cu.name_of(queue)},
        extra_headers={"Accept": accept})
    assert status == 200, body
    assert {k.lower(): v for k, v in headers.items()}["content-type"].startswith("text/xml")
    assert xml(body).find(f"{NS}GetQueueUrlResult/{NS}QueueUrl").text == queue
