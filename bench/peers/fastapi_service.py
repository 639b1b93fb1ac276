"""The service a typical team writes around an XGBoost model: FastAPI + uvicorn + the xgboost
Python package (Debian's python3-fastapi, python3-uvicorn, python3-xgboost), speaking the same
Open Inference Protocol v2 JSON as inferd, so that the same requests go to both.

    MODEL_PATH=model.json MODEL_NAME=forest python3 -m uvicorn fastapi_service:app \
        --host 127.0.0.1 --port 8000 --workers 1 --no-access-log

It is written as such services are: pydantic models validate the request, numpy shapes the rows,
a DMatrix goes to Booster.predict. ENDPOINT_STYLE picks how the endpoint is declared: `async`
(default; the faster here) or `sync` (a plain `def`, which FastAPI runs in its thread pool).
"""
import os
from typing import List, Optional

import numpy as np
import xgboost as xgb
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

MODEL_PATH = os.environ["MODEL_PATH"]
MODEL_NAME = os.environ.get("MODEL_NAME", "model")

booster = xgb.Booster()
booster.load_model(MODEL_PATH)
booster.set_param({"nthread": 1})
N_FEATURES = booster.num_features()


class Tensor(BaseModel):
    name: str
    shape: List[int]
    datatype: str
    data: List[float]


class InferRequest(BaseModel):
    id: Optional[str] = None
    inputs: List[Tensor]


app = FastAPI()


@app.get("/v2/health/ready")
async def ready():
    return {"ready": True}


@app.get("/v2/models/{name}")
async def metadata(name: str):
    if name != MODEL_NAME:
        raise HTTPException(404, f"unknown model '{name}'")
    return {
        "name": MODEL_NAME,
        "platform": "xgboost",
        "inputs": [{"name": "input", "datatype": "FP32", "shape": [-1, N_FEATURES]}],
        "outputs": [{"name": "probabilities", "datatype": "FP32", "shape": [-1, 2]}],
    }


def predict(name: str, request: InferRequest):
    if name != MODEL_NAME:
        raise HTTPException(404, f"unknown model '{name}'")
    tensor = request.inputs[0]
    if len(tensor.shape) != 2 or tensor.shape[1] != N_FEATURES:
        raise HTTPException(400, f"input must have shape [n, {N_FEATURES}]")
    rows = np.asarray(tensor.data, dtype=np.float32).reshape(tensor.shape)
    p1 = booster.predict(xgb.DMatrix(rows))
    probabilities = np.stack([1.0 - p1, p1], axis=1)
    answer = {
        "model_name": MODEL_NAME,
        "outputs": [
            {
                "name": "probabilities",
                "datatype": "FP32",
                "shape": list(probabilities.shape),
                "data": probabilities.ravel().tolist(),
            }
        ],
    }
    if request.id is not None:
        answer["id"] = request.id
    return answer


if os.environ.get("ENDPOINT_STYLE", "async") == "sync":

    @app.post("/v2/models/{name}/infer")
    def infer_sync(name: str, request: InferRequest):
        return predict(name, request)

else:

    @app.post("/v2/models/{name}/infer")
    async def infer(name: str, request: InferRequest):
        return predict(name, request)
