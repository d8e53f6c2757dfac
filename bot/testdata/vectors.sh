#!/usr/bin/env bash
# Computes WeCom callback test vectors with openssl and sha1sum, independently of the Go
# code, from the published algorithm: AESKey = base64(EncodingAESKey + "="); plaintext =
# random(16) | len(msg) as 4 bytes big-endian | msg | ReceiveId, PKCS#7-padded to 32;
# AES-256-CBC with IV = AESKey[:16]; msg_signature = sha1(sort(token, timestamp, nonce,
# ciphertext) joined). Run from bot/testdata: ./vectors.sh > vectors.txt
set -euo pipefail
export LC_ALL=C
encoding_key='jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C'
token='QDG6eK'
timestamp='1409659813'
nonce='1372623149'
random='0123456789abcdef'
keyhex=$(printf '%s=' "$encoding_key" | base64 -d | od -An -tx1 | tr -d ' \n')
ivhex=${keyhex:0:32}

vector() { # name msgfile receiveid
  local name=$1 msg=$2 rid=$3 tmp
  tmp=$(mktemp)
  local len
  len=$(stat -c %s "$msg")
  {
    printf '%s' "$random"
    printf "\\x$(printf %02x $(( (len>>24)&255 )))\\x$(printf %02x $(( (len>>16)&255 )))\\x$(printf %02x $(( (len>>8)&255 )))\\x$(printf %02x $(( len&255 )))"
    cat "$msg"
    printf '%s' "$rid"
  } > "$tmp"
  local n pad
  n=$(stat -c %s "$tmp")
  pad=$(( 32 - n % 32 ))
  for _ in $(seq "$pad"); do printf "\\x$(printf %02x "$pad")" >> "$tmp"; done
  local ct sig
  ct=$(openssl enc -aes-256-cbc -K "$keyhex" -iv "$ivhex" -nopad -in "$tmp" | base64 -w0)
  sig=$(printf '%s\n' "$token" "$timestamp" "$nonce" "$ct" | sort | tr -d '\n' | sha1sum | cut -d' ' -f1)
  rm -f "$tmp"
  echo "[$name]"
  echo "receive_id=$rid"
  echo "msg_file=$(basename "$msg")"
  echo "encrypt=$ct"
  echo "msg_signature=$sig"
}

echo "encoding_aes_key=$encoding_key"
echo "token=$token"
echo "timestamp=$timestamp"
echo "nonce=$nonce"
echo "random=$random"
vector app app_text.xml 'wx5823bf96d3bd56c7'
vector aibot aibot_text.json ''
