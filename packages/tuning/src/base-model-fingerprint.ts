import { createHash } from 'node:crypto';
import { toHuggingFaceConfig, type LlamaModel } from '@codestack/runtime';

/**
 * The fingerprint of a base model: SHA-256 (lowercase hex) over its Hugging Face `config.json`
 * object (as JSON) and then, for every weight in ascending name order, the name and the weight's
 * float32 little-endian bytes in Hugging Face layout. Two models have the same fingerprint
 * exactly when they have the same configuration and bit-identical weights.
 */
export function fingerprintModel(model: LlamaModel): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify(toHuggingFaceConfig(model.config)));
  const weights = model.exportWeights();
  for (const name of [...weights.keys()].sort()) {
    const weight = weights.get(name);
    if (weight === undefined) continue;
    hash.update(`\n${name}[${weight.shape.join(',')}]\n`);
    const bytes = new Uint8Array(weight.data.buffer, weight.data.byteOffset, weight.data.byteLength);
    // Float32Array bytes are platform-endian; every platform Node supports here is little-endian.
    hash.update(bytes);
  }
  return hash.digest('hex');
}
