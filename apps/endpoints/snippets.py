"""Ready-to-copy code that calls an endpoint: curl and the OpenAI client through ModelHub's
gateway, boto3 straight at the SageMaker endpoint. Pure functions of the endpoint's facts.

No snippet contains a credential: they read the API token from MODELHUB_API_TOKEN.
"""

import json
import shlex

TOKEN_VARIABLE = "MODELHUB_API_TOKEN"
_EXAMPLE_MESSAGES = [{"role": "user", "content": "Hello! What can you do?"}]


def gateway_base_url(site_url: str) -> str:
    return site_url.rstrip("/") + "/v1"


def curl_snippet(*, site_url: str, model: str) -> str:
    body = json.dumps({"model": model, "messages": _EXAMPLE_MESSAGES, "max_tokens": 256})
    return (
        f"curl {shlex.quote(gateway_base_url(site_url) + '/chat/completions')} \\\n"
        f'  -H "Authorization: Bearer ${TOKEN_VARIABLE}" \\\n'
        f'  -H "Content-Type: application/json" \\\n'
        f"  -d {shlex.quote(body)}"
    )


def openai_snippet(*, site_url: str, model: str) -> str:
    return (
        "import os\n"
        "from openai import OpenAI\n\n"
        f"client = OpenAI(base_url={gateway_base_url(site_url)!r}, api_key=os.environ[{TOKEN_VARIABLE!r}])\n"
        "reply = client.chat.completions.create(\n"
        f"    model={model!r},\n"
        f"    messages={_EXAMPLE_MESSAGES!r},\n"
        "    max_tokens=256,\n"
        ")\n"
        "print(reply.choices[0].message.content)"
    )


def boto3_snippet(*, region: str, remote_name: str, served_model_name: str) -> str:
    return (
        "import json\n"
        "import boto3\n\n"
        f"runtime = boto3.client('sagemaker-runtime', region_name={region!r})\n"
        "response = runtime.invoke_endpoint(\n"
        f"    EndpointName={remote_name!r},\n"
        "    ContentType='application/json',\n"
        "    Body=json.dumps({\n"
        f"        'model': {served_model_name!r},\n"
        f"        'messages': {_EXAMPLE_MESSAGES!r},\n"
        "        'max_tokens': 256,\n"
        "    }),\n"
        ")\n"
        "print(json.loads(response['Body'].read())['choices'][0]['message']['content'])"
    )


def snippets_for(endpoint, site_url: str, default_region: str) -> list[dict]:
    """[{id, label, language, code}] for the endpoint's detail page."""
    items = [
        {"id": "curl", "label": "curl", "language": "bash", "code": curl_snippet(site_url=site_url, model=endpoint.name)},
        {"id": "openai", "label": "OpenAI client", "language": "python",
         "code": openai_snippet(site_url=site_url, model=endpoint.name)},
    ]
    if endpoint.target == "sagemaker" and endpoint.remote_name:
        items.append({
            "id": "boto3", "label": "boto3 (SageMaker runtime)", "language": "python",
            "code": boto3_snippet(region=endpoint.region or default_region, remote_name=endpoint.remote_name,
                                  served_model_name=endpoint.served_model_name or endpoint.name),
        })
    return items
