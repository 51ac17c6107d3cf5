// Reading and writing weights: safetensors files, float16 conversion and model checkpoints.
export { float32ToFloat16Bits, float16BitsToFloat32, float32ToBfloat16Bits, bfloat16BitsToFloat32 } from './float16.js';
export {
  encodeSafetensors,
  decodeSafetensors,
  writeSafetensors,
  readSafetensors,
  safetensorsHeaderLength,
  parseSafetensorsHeader,
  decodeSafetensorsValues,
  type SafetensorsEntry,
  type SafetensorsHeader,
  type SafetensorsDtype,
  type SafetensorsTensor,
  type SafetensorsContent,
  type SafetensorsWriteOptions,
  type SafetensorsReadOptions,
} from './safetensors.js';
export {
  saveModel,
  loadModel,
  readModelConfig,
  encodeModelFiles,
  checkpointFiles,
  maximumConfigBytes,
  type SaveModelOptions,
  type LoadModelOptions,
} from './checkpoint.js';
