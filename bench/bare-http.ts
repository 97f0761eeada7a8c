// The HTTP ceiling of the ingestion benchmark: Express parsing a JSON body and answering 200, nothing else, in its
// own process like the API.
import express from 'express';

const app = express();
app.post('/webhook', express.json(), (_req, res) => void res.status(200).json({ received: true }));
const server = app.listen(Number(process.env.PORT), '127.0.0.1');
process.once('SIGTERM', () => server.close(() => process.exit(0)));
