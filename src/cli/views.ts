/** The API's answers as the CLI reads them: the API's own shapes (types only: the CLI loads no schema library). */
export type { AppStatus, DestroyedApp, LimitsView, PreviewConfigView, PreviewList, ProcessView, ReleaseView, VolumeView } from '../domain/shapes.js';
export type { RepoSourceView, RepoWebhookView, SetRepoBody } from '../domain/shapes.js';
