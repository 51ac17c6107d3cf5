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
export { PackedDataset, type PackedDatasetOptions, type DataPosition, type TrainingBatch } from './packed-dataset.js';
