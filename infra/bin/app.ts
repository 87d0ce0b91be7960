import { createApp } from '../lib/create-app.js';
import { services } from '../lib/services.js';

// `cdk synth|deploy -c stage=<name>` (default dev): one stack `Svc-<stage>` holding every service.
const { app } = createApp({ services });
app.synth();
