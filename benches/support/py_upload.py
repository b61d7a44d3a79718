"""Bench helper: uploads a file as a page blob with Microsoft's Python SDK
(azure-storage-blob), the way its documentation shows, and prints the seconds
the upload took (interpreter start excluded) as JSON.

    py_upload.py BLOB_URL_WITH_SAS FILE MAX_CONCURRENCY
"""
import json
import os
import sys
import time

from azure.storage.blob import BlobClient

url, path, concurrency = sys.argv[1], sys.argv[2], int(sys.argv[3])
client = BlobClient.from_blob_url(url)
start = time.monotonic()
with open(path, "rb") as f:
    client.upload_blob(
        f,
        blob_type="PageBlob",
        length=os.path.getsize(path),
        max_concurrency=concurrency,
        overwrite=True,
    )
print(json.dumps({"seconds": time.monotonic() - start}))
