// Training data on disk: token shards and the packed dataset that batches them.
export {
  writeTokenShard,
  readTokenShard,
  readTokenShardHeader,
  parseTokenShardHeader,
  listTokenShards,
  tokenShardExtension,
  tokenShardHeaderBytes,
  type TokenShardDtype,
  type TokenShardHeader,
} from './token-shards.js';
export { PackedDataset, type PackedDatasetOptions, type DataPosition } from './packed-dataset.js';
export type { BatchSource, TrainingBatch } from './batch-source.js';
