// A web app with nothing but Node.js itself: answers on $PORT.
const http = require('http');

http.createServer((request, response) => {
  response.end('hello from lp-nodejs\n');
}).listen(Number(process.env.PORT));
