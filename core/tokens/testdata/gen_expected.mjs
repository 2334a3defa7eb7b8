// Recomputes the expected token counts in corpus.json with two independent
// JavaScript ports of tiktoken and fails if they disagree. Run outside the
// repository's module (nothing here is a Go or npm dependency of penny):
//
//   mkdir -p /tmp/tok && cd /tmp/tok && npm init -y && npm install js-tiktoken@1.0.21 gpt-tokenizer@4.0.0
//   cp $REPO/core/tokens/testdata/gen_expected.mjs . && node gen_expected.mjs $REPO/core/tokens/testdata/corpus.json
//
// Special-token text such as "<|endoftext|>" is counted as ordinary text, as
// penny's counter (tiktoken's encode_ordinary) does.
import fs from "fs";
import { getEncoding } from "js-tiktoken";
import * as gtO200k from "gpt-tokenizer/encoding/o200k_base";
import * as gtCl100k from "gpt-tokenizer/encoding/cl100k_base";

const path = process.argv[2];
const doc = JSON.parse(fs.readFileSync(path, "utf8"));
const js = { o200k_base: getEncoding("o200k_base"), cl100k_base: getEncoding("cl100k_base") };
const gt = { o200k_base: gtO200k, cl100k_base: gtCl100k };
const none = { allowedSpecial: new Set(), disallowedSpecial: new Set() };
for (const c of doc.cases) {
  for (const enc of ["o200k_base", "cl100k_base"]) {
    const a = js[enc].encode(c.text, [], []).length;
    const b = gt[enc].encode(c.text, none).length;
    if (a !== b) {
      console.error(`${c.name} ${enc}: js-tiktoken ${a}, gpt-tokenizer ${b}`);
      process.exit(1);
    }
    c[enc] = a;
  }
}
fs.writeFileSync(path, JSON.stringify(doc, null, 1) + "\n");
console.log(`${doc.cases.length} cases written to ${path}`);
