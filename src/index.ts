/**
 * loopgrad: differentiable recurrent graphs. Cells are traced into pure data, unrolled over time
 * with shared weights, compiled into typed-array plans, and differentiated by a reverse-mode
 * interpreter (backpropagation through time).
 * @packageDocumentation
 */
export * as op from './op';
export { Sym, type Mat, type Rank, type Scalar, type Vec } from './trace';
export {
  defineCell,
  type Bidirectional,
  type Cell,
  type CellDefinition,
  type Merge,
  type CellFamily,
  type ParamShape,
  type ParamSyms,
  type Slot,
  type StateShape,
  type StateSyms,
  type SymOf,
} from './cell';
export { builtin, gru, lstm, vanillaRelu, vanillaTanh, type RnnParam, type RnnSizes } from './builtin';
export { CellCodec, decodeCell, encodeCell } from './codec';
export {
  bidirectional, bidirectionalEither, residual, residualEither, stack, stackEither, type BidirectionalOptions,
} from './compose';
export { cellPrimitives, withCustoms } from './cell';
export { defineElementwise, definePrimitive, type ElementwiseDefinition, type PrimitiveDefinition } from './custom';
export { jvpOf, primitiveGraph, sizesAt, vjpOf, type LinearizeOptions, type Values } from './linearize';
export { loss, type LossSpec } from './loss';
export { addingProblem, charVocabulary, type Task, type TaskBatch } from './tasks';
export { sample, sampleEither, type SampleOptions } from './sample';
export { train, trainEither, type StepInfo, type TrainOptions, type TrainResult } from './train';
export { checkpointed, checkpointedEither, type Checkpointed, type CheckpointOptions, type CheckpointResult } from './checkpoint';
export { tbptt, tbpttEither, type Tbptt, type TbpttOptions, type TbpttResult } from './tbptt';
export { unroll, unrollEither, type ReadoutParam, type ResolvedUnrollOptions, type Unrolled, type UnrolledParam, type UnrollOptions } from './unroll';
export {
  compile,
  compileEither,
  type Batch,
  type CompileOptions,
  type ForwardResult,
  type GradResult,
  type ParamValues,
  type Plan,
} from './plan';
export type { Dtype, KernelTier, MemoryPolicy } from './program';
export { wasmKernelsAvailable } from './kernels/wasm';
export { startThreads, ThreadError, THREAD_MIN_FLOPS, type ThreadOptions, type ThreadPool } from './kernels/threads';
export { init, cloneParams, type InitOptions } from './init';
export * as initializers from './initializers';
export * as optim from './optim';
export type { AdamOptions, GradsOf, LearningRate, Optimizer, OptimizerName, OptState, RmspropOptions, SgdOptions, StepResult, Tensors } from './optim';
export {
  clipGradNorm, clipGradNormEither, clipGradValue, clipGradValueEither, globalNorm, globalNormEither,
  type ClipNormOptions, type ClipNormResult, type ClipValueOptions,
} from './clip';
export { formatGradientFlow, gateSaturation, gradientFlow, type GateSaturation, type GradientFlow } from './diagnostics';
export { formatFlow, saturation, summarizeFlow, summarizeFlowEither, type FlowOptions, type FlowSummary, type FlowVerdict } from './flow';
export { linePlot, linePlotEither, plotPalette, type PlotOptions, type PlotSeries } from './plot';
export { initWith, initWithEither, schemes, type Initializer, type InitWithOptions, type PresetName, type Scheme } from './initializers';
export {
  gradcheck,
  formatGradcheck,
  defaultTolerances,
  type GradcheckOptions,
  type GradcheckReport,
  type Mismatch,
} from './gradcheck';
export {
  decodeData,
  decodeModel,
  DataFileCodec,
  gateCount,
  ModelFileCodec,
  nest,
  torchName,
  torchParamNames,
  type DataFile,
  type DataSet,
  type Model,
  type ModelFile,
  type TorchParamName,
} from './files';
export { printCell, printUnrolled } from './print';
export {
  formatIssue,
  formatIssues,
  getOrThrow,
  InternalError,
  LoopgradError,
  type IssueTag,
  type LoopgradIssue,
} from './errors';
export { primitives } from './primitives/table';
export type { Buf, CustomPrimitive, Customs, Domain, ElementwiseKernels, GemmHolder, GemmKernels, Operand, Primitive, Rule, Site } from './primitives/types';
export { opTags, type BuiltinEqn, type CustomEqn, type Eqn, type Graph, type OpParams, type OpTag, type VarId, type VarInfo } from './ir';
export { numel, sameShape, showShape, type Shape } from './shape';
export { mulberry32 } from './random';
