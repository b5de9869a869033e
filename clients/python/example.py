"""Calls a hostmesh service from Python: python3 example.py <service.endpoint> [json args...]

    python3 clients/python/example.py pricing.quote '{"symbol":"ACME","quantity":10}' --namespace quotes-example

Prints the reply as JSON (bytes as a list of numbers), or the error as {"error": {...}} and exits 1.
"""
import argparse
import json
import sys

from hostmesh_client import Client, HostmeshError, socket_path


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("route")
    parser.add_argument("args", nargs="*")
    parser.add_argument("--namespace", default="default")
    parser.add_argument("--runtime-dir")
    options = parser.parse_args()
    client = Client(socket_path(options.route.split(".")[0], options.namespace, runtime_dir=options.runtime_dir))
    try:
        value = client.call(options.route, *[json.loads(arg) for arg in options.args])
        print(json.dumps(value, default=list, sort_keys=True))
    except HostmeshError as error:
        print(json.dumps({"error": {"name": error.name, "code": error.code, "message": str(error), "retryable": error.retryable}}, sort_keys=True))
        sys.exit(1)
    finally:
        client.close()


if __name__ == "__main__":
    main()
