"""Runs every call of the permission matrix with boto3 as each user; prints {user: {call: "ok" | errorCode}}."""
import json
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

spec = json.load(sys.stdin)
config = Config(retries={"max_attempts": 1})

CALLS = {
    "cloudtrail:LookupEvents": lambda ct, iam: ct.lookup_events(MaxResults=1),
    "cloudtrail:DescribeTrails": lambda ct, iam: ct.describe_trails(),
    "cloudtrail:GetTrailStatus(alpha)": lambda ct, iam: ct.get_trail_status(Name="alpha"),
    "cloudtrail:StopLogging(alpha)": lambda ct, iam: ct.stop_logging(Name="alpha"),
    "cloudtrail:StartLogging(alpha)": lambda ct, iam: ct.start_logging(Name="alpha"),
    "cloudtrail:StopLogging(gamma)": lambda ct, iam: ct.stop_logging(Name="gamma"),
    "cloudtrail:ListEventDataStores": lambda ct, iam: ct.list_event_data_stores(),
    "cloudtrail:ListPublicKeys": lambda ct, iam: ct.list_public_keys(),
    "iam:ListUsers": lambda ct, iam: iam.list_users(),
    "iam:GetUser(self)": lambda ct, iam: iam.get_user(),
}

out = {}
for user, keys in spec["users"].items():
    session = boto3.session.Session(
        aws_access_key_id=keys["accessKeyId"], aws_secret_access_key=keys["secretAccessKey"], region_name="us-east-1"
    )
    ct = session.client("cloudtrail", endpoint_url=spec["endpoint"], config=config)
    iam = session.client("iam", endpoint_url=spec["endpoint"], config=config)
    results = {}
    for name, call in CALLS.items():
        try:
            call(ct, iam)
            results[name] = "ok"
        except ClientError as error:
            results[name] = error.response["Error"]["Code"]
            results[name + ":message"] = error.response["Error"].get("Message", "")
    out[user] = results
json.dump(out, sys.stdout)
