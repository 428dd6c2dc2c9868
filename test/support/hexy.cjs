// Jest cannot load the ESM-only `hexy` (pulled in by node-opcua-debug); Node 20.20's own require can.
module.exports = process.getBuiltinModule('node:module').createRequire(__filename)('hexy');
