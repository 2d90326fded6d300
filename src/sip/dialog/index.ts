export { dialogKey, sameDialogId, dialogIdOfRequest, dialogIdOfResponse, type DialogId } from './dialog-id.js';
export {
  uacRouteSet,
  uasRouteSet,
  isLooseRouter,
  requestTarget,
  type RouteSet,
  type RequestTarget,
} from './route-set.js';
export {
  Dialog,
  TARGET_REFRESH_METHODS,
  type DialogState,
  type DialogRole,
  type DialogOptions,
  type ViaSentBy,
  type InDialogRequestOptions,
  type InDialogRequestVerdict,
} from './dialog.js';
export {
  Uas2xxRetransmitter,
  type Uas2xxRetransmitterOptions,
  type Uas2xxRetransmitterState,
} from './uas-2xx-retransmitter.js';
export { DialogLayer } from './dialog-layer.js';
