"""A chalice project. The deployed handler is the plain Lambda function ``add``
(``@app.lambda_function``), so it can be verified with an ordinary event; the REST route
is packaged too and would be served through API Gateway."""

from chalice import Chalice

app = Chalice(app_name="chalice-hello")


@app.lambda_function(name="add")
def add(event, context):
    numbers = event.get("numbers", [])
    return {"sum": sum(numbers), "count": len(numbers), "app": app.app_name}


@app.route("/")
def index():
    return {"hello": "world"}
