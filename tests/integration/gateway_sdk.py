"""gateway_sdk.py -- the real google-cloud-aiplatform SDK against `explainq gateway`.

usage: gateway_sdk.py PORT INSTANCES.jsonl REFERENCE.jsonl [TOKEN WRONG_TOKEN]

Calls Endpoint(...).explain() over REST on loopback, with anonymous
credentials or, given TOKEN, an OAuth2 access token (sent as a bearer token,
as the SDK does with real credentials), and checks every explanation equals
`explainq explain --seed` (REFERENCE) bit for bit; then that a bad instance
raises the SDK's 400 exception, and with WRONG_TOKEN that the SDK raises its
401 exception.
"""
import json
import sys

from google.api_core import exceptions
from google.auth.credentials import AnonymousCredentials
from google.auth.exceptions import RefreshError
from google.cloud import aiplatform
from google.oauth2.credentials import Credentials
from google.protobuf import json_format

port, inst_path, ref_path = sys.argv[1], sys.argv[2], sys.argv[3]
token, wrong = (sys.argv[4], sys.argv[5]) if len(sys.argv) > 5 else (None, None)
instances = [json.loads(line) for line in open(inst_path)]
reference = [json.loads(line) for line in open(ref_path)]

aiplatform.init(project="p", location="us-central1", api_endpoint=f"http://127.0.0.1:{port}",
                api_transport="rest",
                credentials=Credentials(token=token) if token else AnonymousCredentials())
endpoint = aiplatform.Endpoint("projects/p/locations/us-central1/endpoints/123")

resp = endpoint.explain(instances=instances)
assert resp.deployed_model_id == "456", resp.deployed_model_id
assert len(resp.explanations) == len(instances) == len(reference)
assert len(resp.predictions) == len(instances)
for i, (got, want) in enumerate(zip(resp.explanations, reference)):
    assert len(got.attributions) == len(want["attributions"])
    for a, w in zip(got.attributions, want["attributions"]):
        # floats compared with ==: the same doubles, not merely close ones
        assert a.baseline_output_value == w["baselineOutputValue"], (i, a.baseline_output_value)
        assert a.instance_output_value == w["instanceOutputValue"], (i, a.instance_output_value)
        assert a.approximation_error == w["approximationError"], (i, a.approximation_error)
        assert a.output_name == w["outputName"]
        assert list(a.output_index) == w["outputIndex"]
        fa = json_format.MessageToDict(a._pb.feature_attributions)
        assert fa == w["featureAttributions"], (i, fa)
        assert any(v != 0 for v in fa.values())
    # the prediction is the model's output row; the explained output is one of its values
    pred = resp.predictions[i]
    assert abs(pred[w["outputIndex"][0]] - w["instanceOutputValue"]) < 1e-6, (pred, w)
print(f"sdk: {len(instances)} explanations equal explainq explain --seed bit for bit")

# a bad instance: HTTP 400 INVALID_ARGUMENT; over REST the SDK raises BadRequest (the
# gRPC transport's InvalidArgument is its subclass for the same status)
bad = dict(instances[0])
del bad["f07"]
try:
    endpoint.explain(instances=[instances[1], bad])
    raise SystemExit("a bad instance was explained")
except exceptions.BadRequest as e:
    assert e.code == 400, e.code
    assert "instances[1].f07" in e.message and "missing" in e.message, e.message
    print("sdk: a bad instance raises BadRequest (400):", e.message)

# an instance with a string where a number is: fine when it is a number
num = {k: str(v) for k, v in instances[0].items()}
r2 = endpoint.explain(instances=[num])
assert r2.explanations[0].attributions[0].baseline_output_value == \
    reference[0]["attributions"][0]["baselineOutputValue"]
print("sdk: numbers as strings explained")

if wrong:
    aiplatform.init(credentials=Credentials(token=wrong))
    try:
        aiplatform.Endpoint("projects/p/locations/us-central1/endpoints/123").explain(
            instances=instances[:1])
        raise SystemExit("a wrong token was served")
    except exceptions.Unauthorized as e:
        assert e.code == 401, e.code
        print("sdk: a wrong bearer token raises Unauthorized (401)")
    except RefreshError:
        # google-auth's transport answers a 401 by refreshing the credentials and sending the
        # request again; a bare access token cannot be refreshed, so that is what it raises
        print("sdk: a wrong bearer token is refused (401, then the SDK's refresh fails)")
