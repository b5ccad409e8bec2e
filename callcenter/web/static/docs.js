// Swagger UI over this service's own schema; "Try it out" uses the page's session
// cookie, or a bearer token pasted under "Authorize".
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
});
