// @alicloud/fc2 ships no types; dispatch.ts describes the little it uses.
declare module '@alicloud/fc2';
