export { baseModelDirectory, baseModelId, bundledAdapterNames, bundledAdapterDirectory } from './bundled-model.js';
