/** Agent Tiny's enumerations (include/atiny_lwm2m/agenttiny.h, include/atiny_error.h), with their C values. */

export const ReportType = Object.freeze({ FirmwareUpdateState: 0, AppData: 1 } as const);
export type ReportType = (typeof ReportType)[keyof typeof ReportType];

/** data_send_status_e */
export const SendStatus = Object.freeze({
  NotSent: 0,
  SentWaitResponse: 1,
  SentFail: 2,
  SentTimeOut: 3,
  SentSuccess: 4,
  SentGetRst: 5,
  SendPending: 6,
} as const);
export type SendStatus = (typeof SendStatus)[keyof typeof SendStatus];

export const SEND_STATUS_NAMES: Readonly<Record<number, string>> = Object.freeze({
  0: "NOT_SENT",
  1: "SENT_WAIT_RESPONSE",
  2: "SENT_FAIL",
  3: "SENT_TIME_OUT",
  4: "SENT_SUCCESS",
  5: "SENT_GET_RST",
  6: "SEND_PENDING",
});

/** Statuses after which a report is finished; every report gets exactly one. */
export const FINAL_STATUSES: readonly number[] = Object.freeze([SendStatus.NotSent, SendStatus.SentFail, SendStatus.SentTimeOut, SendStatus.SentSuccess, SendStatus.SentGetRst]);

/** atiny_error.h */
export const AgentCode = Object.freeze({
  Ok: 0,
  ArgInvalid: -1,
  BufOverflow: -2,
  MsgCongest: -3,
  MallocFailed: -4,
  ResourceNotFound: -5,
  ResourceNotEnough: -6,
  ClientUnregistered: -7,
  SocketCreateFailed: -8,
  Err: -9,
} as const);
export type AgentCode = (typeof AgentCode)[keyof typeof AgentCode];

/** atiny_event_e */
export const AgentEvent = Object.freeze({
  RegOk: 0,
  RegFail: 1,
  DataSubscribe: 2,
  DataUnsubscribe: 3,
  FotaState: 4,
} as const);
export type AgentEvent = (typeof AgentEvent)[keyof typeof AgentEvent];

/** MAX_REPORT_DATA_LEN and MAX_BUFFER_REPORT_CNT. */
export const MAX_REPORT_DATA_LEN = 1024;
export const DEFAULT_STORING_COUNT = 8;
export const MAX_STORING_COUNT = 64;
