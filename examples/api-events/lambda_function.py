"""The AWS console's default layout (lambda_function.lambda_handler) behind an API Gateway
REST proxy: real sample events, with their nulls, are the smoke test."""

import json

import boto3  # provided by the Lambda runtime: listed in requirements, left out of the package


def lambda_handler(event, context):
    item_id = (event.get("pathParameters") or {}).get("id")
    query = event.get("queryStringParameters") or {}
    if event["httpMethod"] == "GET":
        body = {"id": item_id, "verbose": query.get("verbose") == "1",
                "sdk": boto3.__name__}
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
                "body": json.dumps(body, sort_keys=True)}
    if event["httpMethod"] == "POST" and event.get("body"):
        item = json.loads(event["body"])
        return {"statusCode": 201, "headers": {"Content-Type": "application/json"},
                "body": json.dumps({"created": item.get("name")}, sort_keys=True)}
    return {"statusCode": 400, "headers": None, "body": None}
