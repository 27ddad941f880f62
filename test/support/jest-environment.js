// Jest runs tests in a vm context whose typed-array constructors differ from the ones
// onnxruntime-node checks against ("A float32 tensor's data must be type of function
// Float32Array()", microsoft/onnxruntime#16622). Share the host realm's typed arrays with the
// test context. Uint8Array stays the sandbox's own: Buffer depends on it.
const { TestEnvironment } = require('jest-environment-node');

class OnnxFriendlyEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of [
      'Float32Array',
      'Float64Array',
      'Int8Array',
      'Int16Array',
      'Int32Array',
      'Uint16Array',
      'Uint32Array',
      'BigInt64Array',
      'BigUint64Array',
    ]) {
      this.global[name] = globalThis[name];
    }
  }
}

module.exports = OnnxFriendlyEnvironment;
