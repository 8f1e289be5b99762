"""Writes the held-out files with their token ids, for pipeline/checkTokenizer.ts."""
import json
import sys

from tokenizer import Tokenizer

tokenizer_json, corpus_jsonl, out_json = sys.argv[1:4]
tok = Tokenizer.load(tokenizer_json)
files = [json.loads(line) for line in open(corpus_jsonl)]
json.dump([{"path": f["path"], "text": f["text"], "ids": tok.encode(f["text"])} for f in files], open(out_json, "w"))
