#!/usr/bin/env bash
# data.sh - buckets over the API (PUT /v1/data/BUCKET/KEY, GET /v1/data/BUCKET with
# prefix) and through the CLI (`weft data put BUCKET PATH...`, `weft data ls BUCKET`):
# sizes, nested keys, overwrite, 404 for a missing bucket, keys that try to escape
# the object store, and a job reading a bucket filled by the CLI.
. "$(dirname "$0")/../lib.sh"
start_server

# ---- API
api PUT /v1/data/apibucket/hello.txt --data-binary 'hello world'
check_status "PUT /v1/data/B/K: 201" 201
check_json "PUT answer has bucket, key, size" '"\(.bucket) \(.key) \(.size)"' "apibucket hello.txt 11"
head -c 300000 /dev/urandom >"$T/blob.bin"
api PUT /v1/data/apibucket/dir/sub/blob.bin --data-binary "@$T/blob.bin"
check_status "PUT a nested key: 201" 201
check_json "nested key size" '.size' "300000"
check "the object is stored byte for byte" cmp "$T/blob.bin" "$WEFT_HOME/objects/apibucket/dir/sub/blob.bin"
api PUT /v1/data/apibucket/empty.txt --data-binary ''
check_status "PUT an empty object: 201" 201

api GET /v1/data/apibucket
check_status "GET /v1/data/B: 200" 200
check_json "listing names the bucket" '.bucket' "apibucket"
check_json "listing has every key" '[.objects[].key] | sort | join(" ")' "dir/sub/blob.bin empty.txt hello.txt"
check_json "listing gives sizes" '[.objects[] | "\(.key)=\(.size)"] | sort | join(" ")' \
	"dir/sub/blob.bin=300000 empty.txt=0 hello.txt=11"
check_json "listing entries have modified" '[.objects[] | has("modified")] | all' "true"
api GET "/v1/data/apibucket?prefix=dir/"
check_json "prefix=dir/ lists only that key" '[.objects[].key] | join(" ")' "dir/sub/blob.bin"

api PUT /v1/data/apibucket/hello.txt --data-binary 'bye'
check_status "overwrite: 201" 201
api GET /v1/data/apibucket
check_json "overwrite changes the size" '.objects[] | select(.key == "hello.txt") | .size' "3"

api GET /v1/data/no-such-bucket
check_error "GET a missing bucket: 404" 404
api_noauth GET /v1/data/apibucket
check_error "GET a bucket without credentials: 401" 401
api_noauth PUT /v1/data/apibucket/x --data-binary 'x'
check_error "PUT without credentials: 401" 401

api PUT "/v1/data/apibucket/..%2F..%2Fescaped.txt" --path-as-is --data-binary 'escape'
check_match "a key with ../ is refused (4xx)" '^4[0-9][0-9]$' "$HTTP_STATUS"
api PUT "/v1/data/apibucket/../../escaped2.txt" --path-as-is --data-binary 'escape'
check_match "a path with /../ is refused (4xx)" '^4[0-9][0-9]$' "$HTTP_STATUS"
api PUT "/v1/data/..%2Fx/k.txt" --path-as-is --data-binary 'escape'
check_match "a bucket named ../x is refused (4xx)" '^4[0-9][0-9]$' "$HTTP_STATUS"
check_eq "nothing was written outside the object store" "" \
	"$(find "$T" \( -name 'escaped*.txt' -o -name 'k.txt' \) -not -path "$WEFT_HOME/objects/*" 2>/dev/null)"

# ---- CLI
mkdir -p "$T/files"
printf 'one\n' >"$T/files/one.txt"
head -c 5000000 /dev/urandom >"$T/files/big.bin"
"$WEFT_BIN" data put clibucket "$T/files/one.txt" "$T/files/big.bin" >"$T/put.out" 2>&1
check_eq "weft data put exits 0" 0 "$?"
api GET /v1/data/clibucket
check_json "weft data put stored both files" '[.objects[] | "\(.key)=\(.size)"] | sort | join(" ")' \
	"big.bin=5000000 one.txt=4"
check "weft data put stored the bytes" cmp "$T/files/big.bin" "$WEFT_HOME/objects/clibucket/big.bin"
out=$("$WEFT_BIN" data ls clibucket 2>&1)
check_eq "weft data ls exits 0" 0 "$?"
check_match "weft data ls shows one.txt" 'one\.txt' "$out"
check_match "weft data ls shows big.bin" 'big\.bin' "$out"
"$WEFT_BIN" data ls no-such-bucket >/dev/null 2>&1
check_eq "weft data ls of a missing bucket exits 1" 1 "$?"
"$WEFT_BIN" data put clibucket "$T/files/does-not-exist" >/dev/null 2>&1
check_eq "weft data put of a missing file exits 1" 1 "$?"
"$WEFT_BIN" data >/dev/null 2>&1
check_eq "weft data without a subcommand exits 1" 1 "$?"
WEFT_SERVER=http://127.0.0.1:1 "$WEFT_BIN" data ls clibucket >/dev/null 2>&1
check_eq "weft data ls with the server unreachable exits 2" 2 "$?"

# a job reads the bucket the CLI filled
submit "$(manifest data-reader 'cat "$DATA_DIR/one.txt"; cksum <"$DATA_DIR/big.bin"' \
	"$(
		cat <<'EOF'
data_stores:
  - id: teststore
    type: local
    training_data:
      container: clibucket
    training_results:
      container: tresults
EOF
	)")"
if wait_status "$JOB_ID" COMPLETED 30; then ok "a job reading the CLI's bucket completes"; else not_ok "a job reading the CLI's bucket completes"; fi
lines=$(loglines "$JOB_ID")
check_match "the job read one.txt from DATA_DIR" '(^|[[:space:]])one($|[[:space:]])' "$lines"
check_match "the job read big.bin from DATA_DIR" "$(cksum <"$T/files/big.bin")" "$lines"

done_testing
